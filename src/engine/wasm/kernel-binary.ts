/**
 * The prebuilt kernel modules' bytes (kernel-variants.ts). They come from kernel-bytes.js, which
 * `npm run build` writes next to this file in dist/ (scripts/build-kernels.js): plain JavaScript, so
 * that Node, browser bundles and workers all get them without reading a file, and without wabt.
 * Imported on first use only, so that a process on the TypeScript kernels never decodes them.
 */
import { KERNEL_VARIANTS, type KernelVariant } from "./kernel-variants.js";

type KernelBytes = Record<KernelVariant["name"], string>;
let bytesModule: Promise<KernelBytes> | null = null;

/** The variant built with (`fma` true) or without relaxed fused multiply-add. */
export function kernelVariant(fma: boolean): KernelVariant {
  const variant = KERNEL_VARIANTS.find((v) => v.fma === fma);
  if (variant === undefined) throw new Error(`wasm backend: no kernel variant with fma ${fma}`);
  return variant;
}

/** The binary module of `variant`. */
export async function kernelBinary(variant: KernelVariant): Promise<Uint8Array> {
  bytesModule ??= import("./kernel-bytes.js").catch((err: unknown) => {
    bytesModule = null;
    throw new Error(
      `wasm backend: the kernel modules are not built (kernel-bytes.js beside kernel-binary.js): run \`npm run build\` (${(err as Error).message})`,
    );
  });
  const text = atob((await bytesModule)[variant.name]);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
