/**
 * Assembles the generated WebAssembly text with `wabt` and compiles it, detecting relaxed SIMD.
 *
 * Node 20 ships relaxed SIMD (`f32x4.relaxed_madd`) behind the V8 flag
 * `--experimental-wasm-relaxed-simd`. Setting it at run time with `v8.setFlagsFromString` before the
 * first compilation works (measured on Node 20.20: `WebAssembly.validate` of a relaxed_madd module
 * turns from false to true), and V8 flags are per process, so worker threads created afterwards can
 * instantiate the module too. Newer Node versions have the feature on and ignore the flag. When the
 * probe module still does not validate, the kernels are generated with a multiply and an add instead.
 */
import v8 from 'node:v8';
import wabtInit from 'wabt';
import { DEFAULT_GEMM, type GemmConfig } from './wat-gemm.js';
import { moduleWat } from './wat-module.js';
import { wasm, type WasmModule } from './wasm-api.js';

/** Options of the WebAssembly features and tiles the module is generated with. */
export interface CompileOptions {
  /** Use relaxed fused multiply-add: true, false, or 'auto' (when the runtime supports it). */
  fma?: boolean | 'auto';
  gemm?: GemmConfig;
}

/** A compiled kernel module and how it was built. */
export interface CompiledKernels {
  module: WasmModule;
  fma: boolean;
  gemm: GemmConfig;
}

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtPromise: Promise<Wabt> | null = null;
let relaxedSupported: boolean | null = null;

const FEATURES = { simd: true, threads: true, relaxed_simd: true, bulk_memory: true };

function assemble(wabt: Wabt, name: string, wat: string): Uint8Array {
  const mod = wabt.parseWat(name, wat, FEATURES);
  try {
    // wabt's validate takes the feature set again (the d.ts omits the parameter)
    (mod.validate as (features: typeof FEATURES) => void)(FEATURES);
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** True when this runtime can compile `f32x4.relaxed_madd` (after trying to enable the V8 flag). */
export async function relaxedSimdSupported(): Promise<boolean> {
  if (relaxedSupported !== null) return relaxedSupported;
  const wabt = await (wabtPromise ??= wabtInit());
  const probe = assemble(wabt, 'probe.wat', `(module (func (export "f") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))`);
  if (!wasm.validate(probe)) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // flag unknown to this V8: the feature is either always on or absent
    }
  }
  const ok = wasm.validate(probe);
  relaxedSupported = ok;
  return ok;
}

/** Generates, assembles and compiles the kernel module. */
export async function compileKernels(opts: CompileOptions = {}): Promise<CompiledKernels> {
  const wabt = await (wabtPromise ??= wabtInit());
  const canFma = await relaxedSimdSupported();
  const want = opts.fma ?? 'auto';
  if (want === true && !canFma) throw new Error('wasm backend: relaxed SIMD (fma: true) is not supported by this runtime');
  const fma = want === 'auto' ? canFma : want;
  const gemm = opts.gemm ?? DEFAULT_GEMM;
  const binary = assemble(wabt, 'kernels.wat', moduleWat(gemm, fma));
  const module = await wasm.compile(binary);
  return { module, fma, gemm };
}
