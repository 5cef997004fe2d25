/**
 * The V8 flags the `mlm` command sets for its own process, before any kernel module is compiled (the
 * library itself changes no engine flag; docs/engine-flags.md says what a library user gains by
 * setting them):
 * - `--experimental-wasm-relaxed-simd`: Node 20 compiles relaxed SIMD only with it, and the kernels'
 *   fused multiply-add variant is 15-20% faster in the matrix products; later Node versions have the
 *   feature on and ignore the flag.
 * - `--no-liftoff`: WebAssembly is compiled by the optimising tier at once. With V8's baseline tier
 *   the first calls of every kernel ran at about half speed until tier-up, and on two cores the
 *   background tier-up took a core from the kernels.
 */
import v8 from "node:v8";

export const CLI_ENGINE_FLAGS = ["--experimental-wasm-relaxed-simd", "--no-liftoff"] as const;

/** Sets CLI_ENGINE_FLAGS in this process (each one a runtime does not know is left alone). */
export function setCliEngineFlags(): void {
  for (const flag of CLI_ENGINE_FLAGS) {
    try {
      v8.setFlagsFromString(flag);
    } catch {
      // a V8 that does not know the flag: nothing to do
    }
  }
}
