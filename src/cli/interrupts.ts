/**
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP for the long-running commands (train, eval, tokenizer train).
 * The first signal aborts the command's AbortSignal: the work stops at its next safe point (training
 * first saves a checkpoint and flushes its logs) and the command exits with 128 + the signal's number
 * (130, 143, 129). A second signal exits at once with its code: checkpoints are written by atomic
 * swaps, so the last one stays whole. Without these handlers Node would end the process at once,
 * losing everything since the last checkpoint.
 *
 * @example
 *   const interrupts = listenForInterrupts("stopping after this batch");
 *   try {
 *     await evaluateCorpus(loaded, path, { signal: interrupts.signal });
 *   } finally {
 *     interrupts.dispose();
 *   }
 */

/** The signals handled, with the exit code of a command they stop (128 + the signal's number). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** The reason of an AbortSignal aborted by a signal; `mlm` exits with its exitCode. */
export class Interrupted extends Error {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
  }

  get exitCode(): number {
    return SIGNAL_EXIT_CODES[this.signal];
  }
}

/** The handlers of one command; `dispose` removes them. */
export interface Interrupts {
  /** Aborted by the first signal, with an Interrupted as its reason. */
  readonly signal: AbortSignal;
  /** The first signal's Interrupted; null while none came. */
  readonly received: Interrupted | null;
  dispose(): void;
}

/** Installs the handlers; `firstNotice` says what the command does after the first signal. */
export function listenForInterrupts(
  firstNotice: string,
  write: (text: string) => void = (text) => process.stderr.write(text),
): Interrupts {
  const controller = new AbortController();
  const handlers: [StopSignal, () => void][] = [];
  for (const name of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
    const handler = (): void => {
      if (controller.signal.aborted) {
        write(`\n${name}: exiting at once\n`);
        process.exit(SIGNAL_EXIT_CODES[name]);
      }
      const key = name === "SIGINT" ? "Ctrl-C" : name;
      write(`\n${key}: ${firstNotice} (${key} again to quit at once)\n`);
      controller.abort(new Interrupted(name));
    };
    handlers.push([name, handler]);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    get received() {
      return controller.signal.aborted ? (controller.signal.reason as Interrupted) : null;
    },
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
