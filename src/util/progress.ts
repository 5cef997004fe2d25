/**
 * Progress reporting for long steps (tokenizer training, tokenizing, training, evaluation).
 *
 * On a terminal it draws a cli-progress bar with a status text (loss, tokens/s...). When the stream is
 * not a terminal (CI logs, a file, a pipe) it prints a plain line at most every `logEverySeconds`,
 * plus one at the end, so logs stay readable. `silent` prints nothing (library use, tests).
 *
 * @example
 *   const bar = createProgress({ label: "tokenize", total: sentences.length });
 *   for (...) bar.update(done, "12.3k sent/s");
 *   bar.stop();
 */
import cliProgress from "cli-progress";

export interface ProgressOptions {
  label: string;
  total: number;
  /** Where to write; process.stderr by default, as tqdm does. */
  stream?: NodeJS.WriteStream;
  /** No output at all. */
  silent?: boolean;
  /** Interval of the plain log lines when the stream is not a terminal. */
  logEverySeconds?: number;
}

export interface Progress {
  /** Sets the done count and, optionally, the status text shown after the bar. */
  update(value: number, status?: string): void;
  /** Adds `delta` to the done count. */
  increment(delta?: number, status?: string): void;
  /** Changes the total (e.g. when it becomes known later). */
  setTotal(total: number): void;
  /** Finishes the bar (prints the final line when not on a terminal). */
  stop(): void;
}

/** A progress reporter: a bar on a terminal, plain lines elsewhere, nothing when `silent`. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.silent) return silentProgress();
  if (stream.isTTY) return terminalProgress(options, stream);
  return lineProgress(options, stream);
}

function silentProgress(): Progress {
  return { update() {}, increment() {}, setTotal() {}, stop() {} };
}

function terminalProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${options.label} |{bar}| {value}/{total} {percentage}% | {duration_formatted}<{eta_formatted} {status}`,
      hideCursor: true,
      barsize: 30,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  bar.start(options.total, 0, { status: "" });
  return {
    update(v, status) {
      value = v;
      bar.update(v, status === undefined ? undefined : { status });
    },
    increment(delta = 1, status) {
      value += delta;
      bar.update(value, status === undefined ? undefined : { status });
    },
    setTotal(total) {
      bar.setTotal(total);
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const every = (options.logEverySeconds ?? 10) * 1000;
  const start = Date.now();
  let total = options.total;
  let value = 0;
  let lastStatus = "";
  let lastPrint = start;
  let stopped = false;
  const print = (): void => {
    const elapsed = (Date.now() - start) / 1000;
    const pct = total > 0 ? ((100 * value) / total).toFixed(1) : "?";
    const eta = value > 0 && total > value ? ` eta ${formatSeconds((elapsed * (total - value)) / value)}` : "";
    stream.write(
      `${options.label}: ${value}/${total} (${pct}%) ${formatSeconds(elapsed)}${eta}${lastStatus ? " | " + lastStatus : ""}\n`,
    );
    lastPrint = Date.now();
  };
  const maybePrint = (): void => {
    if (Date.now() - lastPrint >= every) print();
  };
  return {
    update(v, status) {
      value = v;
      if (status !== undefined) lastStatus = status;
      maybePrint();
    },
    increment(delta = 1, status) {
      value += delta;
      if (status !== undefined) lastStatus = status;
      maybePrint();
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      print();
    },
  };
}

/** 75 -> "1m15s", 3725 -> "1h02m". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
