/**
 * The V8 flags the `mlm` command sets for its own process, before any kernel module is compiled (the
 * library itself changes no engine flag; docs/kernels.md says what a library user gains by setting
 * them). Each is set only where this V8 knows it: V8 prints "unrecognized flag" for one it does not.
 * - `--experimental-wasm-relaxed-simd`: Node 20 compiles relaxed SIMD only with it, and the kernels'
 *   fused multiply-add variant is 15-20% faster in the matrix products; later Node versions have the
 *   feature on (and Node 24 no longer knows the flag), so it is set only where a relaxed-SIMD
 *   instruction does not validate.
 * - `--no-liftoff`: WebAssembly is compiled by the optimising tier at once. With V8's baseline tier
 *   the first calls of every kernel ran at about half speed until tier-up, and on two cores the
 *   background tier-up took a core from the kernels.
 * - `--experimental-wasm-revectorize` (V8 13, Node 24): SIMD128 code widened to 256-bit AVX2 where the
 *   processor has it. Measured on a 2-core x86-64 machine, default training step: 63 ms instead of 90
 *   on Node 24, the same parameters bit for bit after 40 steps (`node dist/bench/node-versions.js`).
 */
import v8 from "node:v8";
import { wasm } from "../engine/wasm/wasm-api.js";

/**
 * A module of one function returning f32x4.relaxed_madd of three zero vectors: it validates where the
 * runtime compiles relaxed SIMD without a flag.
 */
function relaxedSimdProbe(): Uint8Array {
  const zeros = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0x00, ...zeros, ...zeros, ...zeros, 0xfd, 0x85, 0x02, 0x0b]; // no locals; relaxed_madd; end
  const code = [0x01, body.length, ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // types: () -> v128
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x0a, code.length, ...code], // its code
  ]);
}

/** The flags `setCliEngineFlags` sets on this runtime. */
export function cliEngineFlags(): string[] {
  const flags = ["--no-liftoff"];
  if (!wasm.validate(relaxedSimdProbe())) flags.push("--experimental-wasm-relaxed-simd");
  if (Number(process.versions.v8.split(".")[0]) >= 13) flags.push("--experimental-wasm-revectorize");
  return flags;
}

/** Sets `cliEngineFlags()` in this process. */
export function setCliEngineFlags(): void {
  for (const flag of cliEngineFlags()) v8.setFlagsFromString(flag);
}
