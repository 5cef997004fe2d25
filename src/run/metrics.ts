/**
 * metrics.jsonl: one JSON object per line, `{"step": 100, "loss": 2.31, ..., "time": 1700000000.123}`,
 * easy to read from pandas (`read_json(..., lines=True)`), jq, or `readMetricsFile`.
 *
 * Each line is handed to the storage with one append when it is logged (on Node: one write to the
 * OS), so a crash of the process loses nothing already logged (at worst a power loss cuts the last
 * line, which the reader then skips). Non-finite numbers, which JSON cannot hold, are written as the
 * strings "NaN", "Infinity" and "-Infinity" (a diverged loss stays visible) and turned back into
 * numbers when read.
 *
 * @example
 *   const log = await MetricsLog.open("runs/tiny/metrics.jsonl");
 *   log.log(100, { loss: 2.31, lr: 3e-4 });
 *   await log.close();
 *   await readMetricsFile("runs/tiny/metrics.jsonl"); // [{ step: 100, loss: 2.31, lr: 0.0003, time: 1764... }]
 */
import { platform, type AppendFile, type Storage } from "../platform/index.js";

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

/** JSON.parse's reviver that turns the strings "NaN", "Infinity" and "-Infinity" back into numbers. */
const revive = (_key: string, v: unknown): unknown => NON_FINITE.get(v) ?? v;

/** One metrics.jsonl line (with its "\n"); NaN and infinities are written as strings so a diverged loss stays visible. */
export function formatMetricsLine(record: MetricsRecord): string {
  return (
    JSON.stringify(record, (_key, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)) + "\n"
  );
}

/** Appends lines to a metrics.jsonl file (created with its directory if missing). */
export class MetricsLog {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly file: AppendFile,
  ) {}

  /** `append: false` empties an existing file (a fresh run); the default keeps it (a resumed run). */
  static async open(path: string, options: { append?: boolean; storage?: Storage } = {}): Promise<MetricsLog> {
    const storage = options.storage ?? platform().storage;
    return new MetricsLog(path, await storage.openAppend(path, { truncate: options.append === false }));
  }

  /** Writes `{step, ...fields, time}` as one line. `time` defaults to now (unix seconds). */
  log(step: number, fields: Record<string, MetricValue>, time = Date.now() / 1000): void {
    if (this.closed) throw new Error(`MetricsLog: ${this.path} is closed`);
    if ("step" in fields || "time" in fields) throw new Error(`MetricsLog.log: "step" and "time" are set by the log`);
    this.file.append(formatMetricsLine({ step, ...fields, time }));
  }

  /** Closes the file; closing twice is harmless. */
  async close(): Promise<void> {
    this.closed = true;
    await this.file.close();
  }
}

/**
 * One line of a metrics.jsonl file as a record; null for a blank line, or for an unparseable `last`
 * line (a write cut by a crash); any other bad line throws naming the file and line (`where()`, only
 * called then).
 */
export function parseMetricsLine(text: string, where: () => string, last: boolean): MetricsRecord | null {
  const line = text.trim();
  if (line === "") return null;
  let parsed: unknown;
  try {
    // The reviver costs more than the parse itself; only a line naming a non-finite value needs it.
    parsed = line.includes("NaN") || line.includes("Infinity") ? JSON.parse(line, revive) : JSON.parse(line);
  } catch (error) {
    if (last) return null;
    throw new Error(`${where()}: expected a JSON object, ${(error as Error).message}`);
  }
  const record = parsed as MetricsRecord;
  if (typeof parsed !== "object" || parsed === null || typeof record.step !== "number") {
    throw new Error(`${where()}: expected a JSON object with a numeric "step"`);
  }
  return record;
}

/**
 * Parses the text of a metrics.jsonl file (`source` names it in errors). Blank lines are skipped, and
 * so is an unparseable last line without a final newline (a write cut by a crash); any other bad
 * line throws naming the file and line.
 */
export function parseMetrics(text: string, source: string): MetricsRecord[] {
  const lines = text.split("\n");
  const records: MetricsRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const record = parseMetricsLine(lines[i], () => `${source}:${i + 1}`, i === lines.length - 1);
    if (record !== null) records.push(record);
  }
  return records;
}

/** Reads a metrics.jsonl file (see `parseMetrics`). */
export async function readMetricsFile(path: string, storage: Storage = platform().storage): Promise<MetricsRecord[]> {
  return parseMetrics(await storage.readText(path), path);
}

/** Drops the records after `step` (a resumed run recomputes them identically); nothing when the file is missing. */
export async function truncateMetrics(
  path: string,
  step: number,
  storage: Storage = platform().storage,
): Promise<void> {
  if ((await storage.stat(path)) === null) return;
  const kept = (await readMetricsFile(path, storage)).filter((r) => r.step <= step);
  await storage.writeAtomic(path, kept.map(formatMetricsLine).join(""));
}
