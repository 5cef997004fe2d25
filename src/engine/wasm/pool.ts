/**
 * Worker threads that share the kernel module and the memory with the main thread.
 *
 * The main thread is thread 0 and takes its share of every job; workers 1..n-1 wait on the control
 * block (layout.ts). Workers are `unref`ed, so a process that forgets `dispose()` can still exit.
 * They get an empty `execArgv`: their source is CommonJS, and a parent started with
 * `--input-type=module` would otherwise make it ES module code (V8 flags such as relaxed SIMD are per
 * process and still apply).
 */
import { Worker } from "node:worker_threads";
import { CTL_DONE, CTL_ERR, CTL_GEN, CTL_NTH, CTL_OP } from "./layout.js";
import { WORKER_SOURCE } from "./worker-source.js";
import type { WasmMemory, WasmModule } from "./wasm-api.js";

/** Busy-wait iterations before sleeping in Atomics.wait (tens of microseconds; longer spins did not
 * change the time of a training step). */
const SPIN = 20000;

/** Runs jobs on the main thread plus `threads - 1` workers. */
export class ThreadPool {
  private readonly ctl: Int32Array;
  private disposed = false;

  private constructor(
    private readonly task: (tid: number, nth: number) => void,
    memory: WasmMemory,
    private readonly workers: Worker[],
  ) {
    this.ctl = new Int32Array(memory.buffer, 0, 16);
  }

  /** Starts `threads - 1` workers and waits until each has instantiated the module. */
  static async create(
    module: WasmModule,
    memory: WasmMemory,
    task: (tid: number, nth: number) => void,
    threads: number,
  ): Promise<ThreadPool> {
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: { module, memory, tid, spin: SPIN },
      });
      ready.push(
        new Promise((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
          w.once("exit", (code) =>
            reject(new Error(`wasm backend: worker ${tid} exited with code ${code} before starting`)),
          );
        }),
      );
      workers.push(w);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw e;
    }
    for (const w of workers) {
      w.removeAllListeners("exit");
      w.unref();
    }
    return new ThreadPool(task, memory, workers);
  }

  /** Number of threads, the main one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs job `op` (arguments already written to the control block) on `nth` threads (1 = the main
   * thread alone, no dispatch) and returns when every thread is done.
   */
  run(op: number, nth: number): void {
    if (this.disposed) throw new Error("wasm backend: used after dispose()");
    const ctl = this.ctl;
    Atomics.store(ctl, CTL_OP, op);
    if (nth <= 1 || this.workers.length === 0) {
      this.task(0, 1);
      return;
    }
    Atomics.store(ctl, CTL_NTH, nth);
    Atomics.store(ctl, CTL_DONE, 0);
    Atomics.store(ctl, CTL_ERR, 0);
    Atomics.add(ctl, CTL_GEN, 1);
    Atomics.notify(ctl, CTL_GEN);
    let failure: unknown = null;
    try {
      this.task(0, nth);
    } catch (e) {
      failure = e;
    }
    const need = this.workers.length;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, CTL_DONE);
      if (done === need) break;
      if (++spins > SPIN) Atomics.wait(ctl, CTL_DONE, done, 100);
    }
    if (failure) throw failure;
    if (Atomics.load(ctl, CTL_ERR))
      throw new Error("wasm backend: a kernel failed in a worker thread (out-of-range arguments?)");
  }

  /** Stops the workers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length > 0) {
      Atomics.store(this.ctl, CTL_OP, -1);
      Atomics.add(this.ctl, CTL_GEN, 1);
      Atomics.notify(this.ctl, CTL_GEN);
      for (const w of this.workers) void w.terminate();
    }
  }
}
