/**
 * Progress reporting for long steps (tokenizer training, tokenizing, training, evaluation).
 *
 * On a terminal it draws a bar on the last line with a status text (loss, tokens/s...); `printLine`
 * writes a message above the bar, so that messages and the bar never overwrite each other. A bar
 * started while another is drawn (an evaluation during training) takes the last line until it stops,
 * then the outer bar is drawn again. When the stream is not a terminal (CI logs, a file, a pipe) it
 * prints a plain line at most every `logEverySeconds`, plus one at the end unless that state was
 * just printed, so logs stay readable. `silent` prints nothing (library use, tests).
 *
 * @example
 *   const bar = createProgress({ label: "tokenize", total: sentences.length });
 *   for (let done = 1; done <= sentences.length; done++) bar.update(done, "12.3k sent/s");
 *   printLine("halfway there"); // above the bar
 *   bar.stop();
 */

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
  /** Finishes the bar: its final state stays on screen (a bar inside another one is cleared). */
  stop(): void;
}

/** A progress reporter: a bar on a terminal, plain lines elsewhere, nothing when `silent`. */
export function createProgress(options: ProgressOptions): Progress {
  if (options.silent) return silentProgress(); // first: a browser has no process.stderr
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) return terminalProgress(options, stream);
  return lineProgress(options, stream);
}

/** Whether this process has a standard error stream and it is a terminal (false in a browser). */
export function stderrIsTerminal(): boolean {
  return typeof process !== "undefined" && process.stderr?.isTTY === true;
}

/** Writes one line of text to `stream`, above the progress bar drawn there if there is one. */
export function printLine(line: string, stream: NodeJS.WriteStream = process.stderr): void {
  const bars = drawnBars.get(stream);
  if (bars === undefined || bars.length === 0) {
    stream.write(line + "\n");
    return;
  }
  stream.write(CLEAR_LINE + line + "\n");
  bars[bars.length - 1].draw();
}

function silentProgress(): Progress {
  return { update() {}, increment() {}, setTotal() {}, stop() {} };
}

/**
 * Seconds left at the rate measured since `from`, the first update (a resumed run's bar starts at its
 * resumed step: counting from 0 would divide by steps this process never took); null before any.
 */
function secondsLeft(from: { value: number; time: number } | null, value: number, total: number): number | null {
  if (total <= value) return 0;
  if (from === null || value <= from.value) return null;
  return (((Date.now() - from.time) / 1000) * (total - value)) / (value - from.value);
}

/** Carriage return and erase the line: the bar is redrawn in place. */
const CLEAR_LINE = "\r\x1b[2K";
/** Redraws at most this often (ms), plus at the last value. */
const REDRAW_MS = 200;
const BAR_WIDTH = 30;

/** The bars being drawn on each terminal stream, outermost first; the last one holds the last line. */
const drawnBars = new Map<NodeJS.WriteStream, { draw(): void }[]>();

function terminalProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  let bars = drawnBars.get(stream);
  if (bars === undefined) drawnBars.set(stream, (bars = []));
  const stack = bars;
  const start = Date.now();
  let total = options.total;
  let value = 0;
  let rateFrom: { value: number; time: number } | null = null; // the first update: the rate (and ETA) counts from there
  let status = "";
  let lastDraw = 0;
  let stopped = false;
  const self = {
    draw(): void {
      const elapsed = (Date.now() - start) / 1000;
      const fraction = total > 0 ? Math.min(1, value / total) : 0;
      const filled = Math.round(fraction * BAR_WIDTH);
      const left = secondsLeft(rateFrom, value, total);
      const eta = left === null ? "?" : formatSeconds(left);
      const text =
        `${options.label} |${"\u2588".repeat(filled)}${"\u2591".repeat(BAR_WIDTH - filled)}| ${value}/${total} ` +
        `${Math.floor(100 * fraction)}% | ${formatSeconds(elapsed)}<${eta}${status ? " " + status : ""}`;
      // One line only: a line that wraps could not be redrawn in place.
      const width = Math.max(20, (stream.columns || 80) - 1);
      stream.write(CLEAR_LINE + (text.length > width ? text.slice(0, width) : text));
      lastDraw = Date.now();
    },
  };
  const set = (v: number, s: string | undefined): void => {
    if (stopped) return;
    rateFrom ??= { value: v, time: Date.now() };
    value = v;
    if (s !== undefined) status = s;
    if (stack.at(-1) === self && (Date.now() - lastDraw >= REDRAW_MS || value >= total)) self.draw();
  };
  stack.push(self);
  self.draw();
  return {
    update: (v, s) => set(v, s),
    increment: (delta = 1, s) => set(value + delta, s),
    setTotal(t) {
      total = t;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      stack.splice(stack.indexOf(self), 1);
      if (stack.length > 0) {
        stream.write(CLEAR_LINE);
        stack[stack.length - 1].draw();
      } else {
        self.draw();
        stream.write("\n");
      }
    },
  };
}

function lineProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const every = (options.logEverySeconds ?? 10) * 1000;
  const start = Date.now();
  let total = options.total;
  let value = 0;
  let rateFrom: { value: number; time: number } | null = null; // as on a terminal: a resumed count's rate starts there
  let lastStatus = "";
  let lastPrint = start;
  let printed = ""; // value and status of the last line printed
  let stopped = false;
  const print = (): void => {
    const elapsed = (Date.now() - start) / 1000;
    const pct = total > 0 ? ((100 * value) / total).toFixed(1) : "?";
    const left = total > value ? secondsLeft(rateFrom, value, total) : null;
    const eta = left === null ? "" : ` eta ${formatSeconds(left)}`;
    stream.write(
      `${options.label}: ${value}/${total} (${pct}%) ${formatSeconds(elapsed)}${eta}${lastStatus ? " | " + lastStatus : ""}\n`,
    );
    lastPrint = Date.now();
    printed = `${value}/${total} ${lastStatus}`;
  };
  const maybePrint = (): void => {
    if (Date.now() - lastPrint >= every) print();
  };
  return {
    update(v, status) {
      rateFrom ??= { value: v, time: Date.now() };
      value = v;
      if (status !== undefined) lastStatus = status;
      maybePrint();
    },
    increment(delta = 1, status) {
      rateFrom ??= { value, time: Date.now() };
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
      if (printed !== `${value}/${total} ${lastStatus}`) print();
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
