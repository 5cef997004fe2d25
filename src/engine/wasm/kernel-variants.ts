/**
 * The prebuilt variants of the kernel module (scripts/build-kernels.js assembles each at build time
 * from the generators, wat/module.ts, with the tiles of DEFAULT_GEMM): one with relaxed SIMD's fused
 * multiply-add (`f32x4.relaxed_madd`, one rounding), and one with a multiply then an add for runtimes
 * without relaxed SIMD (Node 20 unless started with --experimental-wasm-relaxed-simd). The two round
 * differently, so a run's `kernels` ("wasm-simd-fma" or "wasm-simd") records which one it used.
 */
export interface KernelVariant {
  /** Export name of its base64 bytes in kernel-bytes.js. */
  readonly name: "fma" | "plain";
  /** File of the binary module next to kernel-bytes.js in dist/. */
  readonly file: string;
  /** Built with relaxed fused multiply-add. */
  readonly fma: boolean;
}

export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  { name: "fma", file: "kernels-fma.wasm", fma: true },
  { name: "plain", file: "kernels-plain.wasm", fma: false },
];
