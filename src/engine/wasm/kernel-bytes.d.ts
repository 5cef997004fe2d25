// The kernel modules as base64, written into dist/ by scripts/build-kernels.js (see kernel-variants.ts).
export declare const fma: string;
export declare const plain: string;
