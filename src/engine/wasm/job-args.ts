/**
 * The backend's side of the argument layouts of kernels.ts: for each kernel, an object whose
 * properties, named as the kernel's arguments, write straight into the control block's argument
 * words (int32 from word ARG_I32, float64 from ARG_F64; layout.ts), so that a call allocates nothing.
 * Each write also sets the argument's bit in a mask, and `take()`, called when the job starts, throws
 * unless every declared argument was written since the kernel's previous job.
 */
import { KERNELS, KERNEL_LIST, type ArgName, type KernelName } from "./kernels.js";
import { ARG_F64, ARG_F64_COUNT, ARG_I32, ARG_I32_COUNT } from "./layout.js";

/** Kernel K's arguments, written by name (int32 ones are truncated to int32 as by an Int32Array). */
export type KernelArgs<K extends KernelName> = { [N in ArgName<K>]: number };

/** One kernel's job: its opcode, its argument setters, and the completeness check. */
export interface Job<K extends KernelName> {
  readonly name: K;
  readonly op: number;
  readonly args: KernelArgs<K>;
  /** Throws, naming them, when some arguments were not written since the last `take`; then starts over. */
  take(): void;
}

/** A job per kernel. */
export type Jobs = { readonly [K in KernelName]: Job<K> };

/**
 * The jobs of all kernels, writing into the control block at the start of `buffer` (the shared
 * memory's buffer: its views stay valid when the memory grows).
 *
 * @example
 *   const jobs = createJobs(heap.memory.buffer);
 *   const j = jobs.sumSquares;
 *   j.args.x = offset; j.args.n = n; j.args.chunks = 4;
 *   j.take();                      // throws if one of x, n, chunks was left out
 *   pool.run(j.op, nth);
 */
export function createJobs(buffer: ArrayBufferLike): Jobs {
  const ai = new Int32Array(buffer, ARG_I32 * 4, ARG_I32_COUNT);
  const af = new Float64Array(buffer, ARG_F64 * 8, ARG_F64_COUNT);
  const jobs: Record<string, Job<KernelName>> = {};
  for (const k of KERNEL_LIST) jobs[k.name] = createJob(k.name, ai, af);
  return jobs as unknown as Jobs;
}

function createJob<K extends KernelName>(name: K, ai: Int32Array, af: Float64Array): Job<K> {
  const k = KERNELS[name];
  const names: readonly string[] = [...k.i32, ...k.f64];
  const all = 2 ** names.length - 1; // at most MAX_ARGS = 31 bits (kernels.ts)
  let written = 0;
  // an object of its own class per kernel: kernels whose argument names begin alike would otherwise
  // share hidden-class transitions with different setters, and V8 would fall back to slow properties
  const args: object = new (class Args {})();
  const slots = [
    ...k.i32.map((arg: string, i: number) => ({ arg, array: ai, i })),
    ...k.f64.map((arg: string, i: number) => ({ arg, array: af, i })),
  ];
  slots.forEach(({ arg, array, i }, bit) => {
    Object.defineProperty(args, arg, {
      enumerable: true,
      get: () => array[i],
      set: (value: number) => {
        array[i] = value;
        written |= 1 << bit;
      },
    });
  });
  return {
    name,
    op: k.op,
    args: args as KernelArgs<K>,
    take(): void {
      if (written !== all) {
        const missing = names.filter((_, i) => (written & (1 << i)) === 0);
        written = 0;
        throw new Error(`wasm backend: kernel ${name} started without its argument(s) ${missing.join(", ")}`);
      }
      written = 0;
    },
  };
}
