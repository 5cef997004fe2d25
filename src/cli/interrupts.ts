/**
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP for the long-running commands (train, eval, tokenizer train).
 * The first signal aborts the command's AbortSignal: the work stops at its next safe point (training
 * first saves a checkpoint and flushes its logs) and the command exits with 128 + the signal's number
 * (130, 143, 129). A second signal exits at once with its code: checkpoints are written by atomic
 * swaps, so the last one stays whole. Without these handlers Node would end the process at once,
 * losing everything since the last checkpoint.
 *
 * A closed output pipe (`mlm train 2>&1 | head -4`, a killed `tee`, the studio that started the
 * command gone) is the terminal hanging up by another road: `stopForClosedOutput` stops every
 * command listening here as SIGHUP does (exit code 129), so a run is checkpointed and marked
 * "interrupted" instead of ending with a success it did not reach.
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
  /** `cause` replaces the signal's name in the message ("interrupted by its output pipe closing (EPIPE)"). */
  constructor(
    readonly signal: StopSignal,
    cause: string = signal,
  ) {
    super(`interrupted by ${cause}`);
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

/** The stop of every listener installed now, by a closed output pipe (see `stopForClosedOutput`). */
const closedOutputStops = new Set<() => void>();

/** What a closed output pipe counts as: the terminal hanging up. */
const CLOSED_OUTPUT = "its output pipe closing (EPIPE)";

/**
 * Stops the commands listening now as SIGHUP would (they save, then exit with 129); returns false
 * when none listens, for the caller to end the command itself. A second closed pipe is not a second
 * signal: the work already stopping goes on to save.
 */
export function stopForClosedOutput(): boolean {
  for (const stop of closedOutputStops) stop();
  return closedOutputStops.size > 0;
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
  const closedOutput = (): void => {
    if (controller.signal.aborted) return;
    write(`\nthe output pipe closed: ${firstNotice}\n`);
    controller.abort(new Interrupted("SIGHUP", CLOSED_OUTPUT));
  };
  closedOutputStops.add(closedOutput);
  return {
    signal: controller.signal,
    get received() {
      return controller.signal.aborted ? (controller.signal.reason as Interrupted) : null;
    },
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
      closedOutputStops.delete(closedOutput);
    },
  };
}
