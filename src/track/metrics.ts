/**
 * metrics.jsonl: one JSON object per line, `{"step": 100, "loss": 2.31, ..., "time": 1700000000.123}`,
 * easy to read from pandas (`read_json(..., lines=True)`), jq, or `readMetrics`.
 *
 * Each line reaches the OS with one write when it is logged, so a crash of the process loses nothing
 * already logged (at worst a power loss cuts the last line, which `readMetrics` then skips).
 * Non-finite numbers, which JSON cannot hold, are written as the strings "NaN", "Infinity" and
 * "-Infinity" (a diverged loss stays visible) and turned back into numbers by `readMetrics`.
 *
 * @example
 *   const log = new MetricsLog("runs/tiny/metrics.jsonl");
 *   log.log(100, { loss: 2.31, lr: 3e-4 });
 *   log.close();
 *   readMetrics("runs/tiny/metrics.jsonl"); // [{ step: 100, loss: 2.31, lr: 0.0003, time: 1764... }]
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** A value of one metrics field. */
export type MetricValue = number | string | boolean | null;

/** One line of metrics.jsonl: the step, the fields logged, and `time` in unix seconds. */
export interface MetricsRecord {
  step: number;
  time: number;
  [field: string]: MetricValue;
}

const NON_FINITE = new Map<unknown, number>([
  ["NaN", Number.NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
]);

/** One metrics.jsonl line (with its "\n"); NaN and infinities are written as strings so a diverged loss stays visible. */
export function formatMetricsLine(record: MetricsRecord): string {
  return (
    JSON.stringify(record, (_key, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)) + "\n"
  );
}

/** Appends lines to a metrics.jsonl file (created with its directory if missing). */
export class MetricsLog {
  readonly path: string;
  private fd: number | undefined;

  /** `append: false` truncates an existing file (a fresh run); the default keeps it (a resumed run). */
  constructor(path: string, options: { append?: boolean } = {}) {
    mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.fd = openSync(path, options.append === false ? "w" : "a");
  }

  /** Writes `{step, ...fields, time}` as one line. `time` defaults to now (unix seconds). */
  log(step: number, fields: Record<string, MetricValue>, time = Date.now() / 1000): void {
    if (this.fd === undefined) throw new Error(`MetricsLog: ${this.path} is closed`);
    if ("step" in fields || "time" in fields) throw new Error(`MetricsLog.log: "step" and "time" are set by the log`);
    const line = Buffer.from(formatMetricsLine({ step, ...fields, time }), "utf8");
    let done = 0;
    while (done < line.length) done += writeSync(this.fd, line, done, line.length - done);
  }

  /** Closes the file; closing twice is harmless. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Reads a metrics.jsonl file. Blank lines are skipped, and so is an unparseable last line without a
 * final newline (a write cut by a crash); any other bad line throws naming the file and line.
 */
export function readMetrics(path: string): MetricsRecord[] {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const records: MetricsRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line, (_key, v: unknown) => NON_FINITE.get(v) ?? v);
    } catch (error) {
      if (i === lines.length - 1) break; // the cut-off last line of a crashed writer
      throw new Error(`${path}:${i + 1}: expected a JSON object, ${(error as Error).message}`);
    }
    const record = parsed as MetricsRecord;
    if (typeof parsed !== "object" || parsed === null || typeof record.step !== "number") {
      throw new Error(`${path}:${i + 1}: expected a JSON object with a numeric "step"`);
    }
    records.push(record);
  }
  return records;
}
