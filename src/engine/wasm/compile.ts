/**
 * Compiles the prebuilt kernel module (kernel-binary.ts): the variant with relaxed fused
 * multiply-add when this runtime validates it, else the plain one. Nothing is assembled at run time
 * and no engine flag is changed: the library leaves the process's V8 settings as it found them.
 *
 * What a process gains from V8 flags set before the first backend is made (the `mlm` command sets
 * both for its own process, src/cli/engine-flags.ts; docs/engine-flags.md):
 * - `--experimental-wasm-relaxed-simd` (Node 20 only; later Node versions have relaxed SIMD on):
 *   the fused multiply-add variant, 15-20% faster matrix products, and the same numbers as the CLI.
 * - `--no-liftoff`: the module is compiled by the optimising tier right away; otherwise the first
 *   calls of every kernel run baseline code at about half speed until V8 tiers them up.
 */
import { kernelBinary, kernelVariant } from "./kernel-binary.js";
import { DEFAULT_GEMM, type GemmConfig } from "./tiles.js";
import { wasm, type WasmModule } from "./wasm-api.js";

/** Which module variant to compile. */
export interface CompileOptions {
  /** Use relaxed fused multiply-add: true, false, or "auto" (when the runtime supports it). */
  fma?: boolean | "auto";
}

/** A compiled kernel module and how it was built. */
export interface CompiledKernels {
  module: WasmModule;
  fma: boolean;
  /** The register tiles it was built with (the backend sizes its scratch by them). */
  gemm: GemmConfig;
}

let relaxedSupported: Promise<boolean> | null = null;

/** True when this runtime compiles `f32x4.relaxed_madd`: it validates the fused multiply-add module. */
export function relaxedSimdSupported(): Promise<boolean> {
  relaxedSupported ??= kernelBinary(kernelVariant(true)).then((bytes) => wasm.validate(bytes));
  return relaxedSupported;
}

/** Compiled modules by variant: backends created with the same choice share one. */
const compiled = new Map<boolean, Promise<CompiledKernels>>();

/** Compiles the kernel module (once per variant). */
export async function compileKernels(opts: CompileOptions = {}): Promise<CompiledKernels> {
  const canFma = await relaxedSimdSupported();
  const want = opts.fma ?? "auto";
  if (want === true && !canFma)
    throw new Error(
      "wasm backend: relaxed SIMD (fma: true) is not supported by this runtime (Node 20: start node with --experimental-wasm-relaxed-simd)",
    );
  const fma = want === "auto" ? canFma : want;
  let entry = compiled.get(fma);
  if (!entry) {
    entry = kernelBinary(kernelVariant(fma)).then(async (bytes) => ({
      module: await wasm.compile(bytes),
      fma,
      gemm: DEFAULT_GEMM,
    }));
    compiled.set(fma, entry);
    entry.catch(() => compiled.delete(fma));
  }
  return entry;
}
