/**
 * Worker threads that share the kernel module and the memory with the main thread.
 *
 * The main thread is thread 0 and takes its share of every job; workers 1..n-1 wait on the control
 * block (layout.ts). The platform starts them (worker_threads on Node) so that they do not keep the
 * process alive: a process that forgets `dispose()` can still exit.
 */
import { platform, type WorkerHandle } from "../../platform/index.js";
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
    private readonly workers: WorkerHandle[],
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
    const workers: WorkerHandle[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const data = { module, memory, tid, spin: SPIN };
      workers.push(platform().startWorker(WORKER_SOURCE, data, `wasm backend: worker ${tid}`));
    }
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
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
      for (const w of this.workers) w.terminate();
    }
  }
}
