/**
 * Assembles the generated WebAssembly text with `wabt` and compiles it, detecting relaxed SIMD.
 *
 * Node 20 ships relaxed SIMD (`f32x4.relaxed_madd`) behind the V8 flag
 * `--experimental-wasm-relaxed-simd`. Setting it at run time (`platform().setEngineFlag`) before the
 * first compilation works (measured on Node 20.20: `WebAssembly.validate` of a relaxed_madd module
 * turns from false to true), and V8 flags are per process, so worker threads created afterwards can
 * instantiate the module too. Newer Node versions have the feature on and ignore the flag. When the
 * probe module still does not validate, the kernels are generated with a multiply and an add instead.
 *
 * The module is compiled with `--no-liftoff` set for that one compilation (then `--liftoff` again):
 * V8 otherwise starts on baseline code and optimises in the background, which made the first calls
 * of a run about half as fast and, on 2 cores, took a core from the kernels while it compiled. With
 * this, starting node with `--no-liftoff` changes nothing measurable (bench/kernels.ts), and start-up
 * stays ~70 ms instead of ~230 ms with the process-wide flag (which also slows wabt's own module).
 */
import wabtInit from "wabt";
import { platform } from "../../platform/index.js";
import { DEFAULT_GEMM, type GemmConfig } from "./wat-gemm.js";
import { moduleWat } from "./wat-module.js";
import { wasm, type WasmModule } from "./wasm-api.js";

/** Options of the WebAssembly features and tiles the module is generated with. */
export interface CompileOptions {
  /** Use relaxed fused multiply-add: true, false, or "auto" (when the runtime supports it). */
  fma?: boolean | "auto";
  gemm?: GemmConfig;
  /** Compile with V8's optimising tier right away instead of tiering up (default true). */
  eagerOptimize?: boolean;
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
    // wabt's validate takes the feature set again (its d.ts omits the parameter)
    const validate = mod.validate as (this: typeof mod, features: typeof FEATURES) => void;
    validate.call(mod, FEATURES);
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** True when this runtime can compile `f32x4.relaxed_madd` (after trying to enable the V8 flag). */
export async function relaxedSimdSupported(): Promise<boolean> {
  if (relaxedSupported !== null) return relaxedSupported;
  const wabt = await (wabtPromise ??= wabtInit());
  const probe = assemble(
    wabt,
    "probe.wat",
    `(module (func (export "f") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))`,
  );
  // A V8 that does not know the flag has the feature either always on or absent.
  if (!wasm.validate(probe)) platform().setEngineFlag("--experimental-wasm-relaxed-simd");
  const ok = wasm.validate(probe);
  relaxedSupported = ok;
  return ok;
}

/** Compiled modules by options: backends created with the same options share one. */
const compiled = new Map<string, Promise<CompiledKernels>>();

/** Generates, assembles and compiles the kernel module (once per set of options). */
export async function compileKernels(opts: CompileOptions = {}): Promise<CompiledKernels> {
  const canFma = await relaxedSimdSupported();
  const want = opts.fma ?? "auto";
  if (want === true && !canFma)
    throw new Error("wasm backend: relaxed SIMD (fma: true) is not supported by this runtime");
  const fma = want === "auto" ? canFma : want;
  const gemm = opts.gemm ?? DEFAULT_GEMM;
  const key = JSON.stringify({ fma, gemm, eager: opts.eagerOptimize ?? true });
  let entry = compiled.get(key);
  if (!entry) {
    entry = build(fma, gemm, opts.eagerOptimize ?? true);
    compiled.set(key, entry);
    entry.catch(() => compiled.delete(key));
  }
  return entry;
}

async function build(fma: boolean, gemm: GemmConfig, eagerOptimize: boolean): Promise<CompiledKernels> {
  const wabt = await (wabtPromise ??= wabtInit());
  const binary = assemble(wabt, "kernels.wat", moduleWat(gemm, fma));
  // Compile straight with the optimising tier (as node --no-liftoff would): with the baseline tier
  // the first calls of every kernel ran at about half speed until tier-up. The flag is restored
  // afterwards so that other WebAssembly in the process keeps V8's defaults.
  // (a process started with --no-liftoff already compiles this way and keeps its flag)
  const eager = eagerOptimize && !platform().hasStartupFlag("--no-liftoff");
  if (eager) platform().setEngineFlag("--no-liftoff");
  let module: WasmModule;
  try {
    module = await wasm.compile(binary);
  } finally {
    if (eager) platform().setEngineFlag("--liftoff");
  }
  return { module, fma, gemm };
}
