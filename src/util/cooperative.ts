/**
 * Long computations that stay responsive to signals. JavaScript runs a signal handler (and every
 * other event) only between tasks, so a loop that never awaits cannot be interrupted. Work here
 * gives the event loop a turn about every `sliceMs` (50 ms by default: a few hundredths of a percent
 * of overhead) and stops at its next safe point once an AbortSignal is aborted.
 *
 * Synchronous work is written once, as a generator that `yield`s at its safe points (between
 * merges, sentences, batches); `runToEnd` runs it straight through, `runCooperatively` with pauses.
 *
 * @example
 *   function* countTo(n: number): Interruptible<number> {
 *     let sum = 0;
 *     for (let i = 1; i <= n; i++) { sum += i; if ((i & 1023) === 0) yield; }
 *     return sum;
 *   }
 *   runToEnd(countTo(1e6));                                  // 500000500000, without pauses
 *   await runCooperatively(countTo(1e9), { signal });        // throws signal.reason once aborted
 */

/** Synchronous work that may pause wherever it yields; it returns T. */
export type Interruptible<T> = Generator<void, T, undefined>;

/** Resolves on a later turn of the event loop, after pending timers, I/O callbacks and signal handlers. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

/**
 * Tells a loop when to give the event loop a turn: `due()` is a clock read, true once `sliceMs` have
 * passed since the last `pause()`; `pause()` gives the turn, then throws the signal's reason when
 * the signal (if any) was aborted meanwhile.
 *
 * @example
 *   const pacer = new Pacer(signal);
 *   for await (const line of lines) {
 *     count(line);
 *     if (pacer.due()) await pacer.pause();
 *   }
 */
export class Pacer {
  private last = performance.now();

  constructor(
    readonly signal?: AbortSignal,
    readonly sliceMs = 50,
  ) {}

  /** Whether a pause is due. */
  due(): boolean {
    return performance.now() - this.last >= this.sliceMs;
  }

  /** Gives the event loop one turn; throws the signal's reason once it is aborted. */
  async pause(): Promise<void> {
    await yieldToEventLoop();
    this.last = performance.now();
    this.signal?.throwIfAborted();
  }
}

/** Runs `work` to its end without pausing. */
export function runToEnd<T>(work: Interruptible<T>): T {
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs `work`, giving the event loop a turn about every `sliceMs`. Once `signal` is aborted, the
 * work is closed at its next yield (its `finally` blocks run) and the signal's reason is thrown.
 */
export async function runCooperatively<T>(
  work: Interruptible<T>,
  options: { signal?: AbortSignal; sliceMs?: number } = {},
): Promise<T> {
  const pacer = new Pacer(options.signal, options.sliceMs);
  try {
    options.signal?.throwIfAborted();
    for (;;) {
      const r = work.next();
      if (r.done) return r.value;
      if (pacer.due()) await pacer.pause();
    }
  } finally {
    work.return(undefined as T);
  }
}
