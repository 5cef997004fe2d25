/**
 * Summaries of run directories, read from their metrics.jsonl, config.json and status.json: what
 * `mlm runs` shows.
 *
 * @example
 *   (await listRuns("runs")).forEach((r) => console.log(r.name, "error" in r ? r.error : r.bestValidLoss));
 *   (await runCurves("runs/2026-11-28_10-00-00")).valid; // [{ step, loss, perplexity, accuracy, top5 }]
 */
import { platform, type Storage } from "../platform/index.js";
import { readJsonObject } from "./json-file.js";
import { CHECKPOINT_FILES, lastCheckpointStep, RUN_FILES } from "./layout.js";
import { parseMetricsLine, readMetricsFile, type MetricsRecord } from "./metrics.js";
import { listLastCheckpoints } from "./run-dir.js";
import { readRunStatus, type RunStatus } from "./status.js";

export interface RunSummary {
  dir: string;
  name: string;
  /** Whether the run has a metrics.jsonl (a run that logged nothing yet has none: its figures are empty). */
  hasMetrics: boolean;
  /** Last step with a logged figure (training loss or evaluation). */
  lastStep: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  /** Last logged training loss. */
  lastTrainLoss: number | null;
  /** Corpus of the run (null: the bundled one). */
  data: string | null;
  /** Wall time between the first and the last record, in seconds. */
  seconds: number;
  /** The recorded status (null: none recorded, as in runs of format 0). */
  status: RunStatus | null;
}

export interface RunCurves {
  train: { step: number; loss: number; lr: number | null; tokensPerSec: number | null }[];
  valid: { step: number; loss: number; perplexity: number | null; accuracy: number | null; top5: number | null }[];
}

/** A logged number: finite, or NaN / infinity (a diverged loss stays visible); null when absent. */
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

/** The curves in a run's metrics records. */
function curvesOf(records: MetricsRecord[]): RunCurves {
  const curves: RunCurves = { train: [], valid: [] };
  for (const r of records) {
    const loss = num(r.loss);
    if (loss === null) continue;
    if (r.split === "train")
      curves.train.push({ step: r.step, loss, lr: num(r.lr), tokensPerSec: num(r.tokensPerSec) });
    if (r.split === "valid")
      curves.valid.push({
        step: r.step,
        loss,
        perplexity: num(r.perplexity),
        accuracy: num(r.accuracy),
        top5: num(r.top5),
      });
  }
  return curves;
}

const isFile = async (storage: Storage, path: string): Promise<boolean> => (await storage.stat(path))?.kind === "file";

/**
 * Whether `dir` is a run directory: it has a metrics.jsonl, or the config.json a run writes first
 * (a checkpoint directory, which holds model.safetensors, is not a run).
 */
export async function isRunDirectory(dir: string, storage: Storage = platform().storage): Promise<boolean> {
  const join = storage.path.join;
  if (await isFile(storage, join(dir, RUN_FILES.metrics))) return true;
  return (
    (await isFile(storage, join(dir, RUN_FILES.config))) && !(await isFile(storage, join(dir, CHECKPOINT_FILES.model)))
  );
}

/** A run's metrics records; none when the run has not logged any yet. */
async function readRunMetrics(dir: string, storage: Storage): Promise<MetricsRecord[]> {
  if (!(await isRunDirectory(dir, storage)))
    throw new Error(`${dir}: not a run directory (no ${RUN_FILES.metrics} or ${RUN_FILES.config})`);
  const path = storage.path.join(dir, RUN_FILES.metrics);
  return (await isFile(storage, path)) ? readMetricsFile(path, storage) : [];
}

/** The training and validation curves of one run. */
export async function runCurves(dir: string, storage: Storage = platform().storage): Promise<RunCurves> {
  return curvesOf(await readRunMetrics(dir, storage));
}

/** One run's summary and curves, reading its files once. */
export async function inspectRun(dir: string, storage: Storage = platform().storage): Promise<RunSummary & RunCurves> {
  const records = await readRunMetrics(dir, storage);
  const curves = curvesOf(records);
  return { ...(await summaryOf(dir, records, curves, storage)), ...curves };
}

/** The validation loss and step that best/train_state.json records, or null (no best/, or unreadable). */
async function bestCheckpointFigures(dir: string, storage: Storage): Promise<{ loss: number; step: number } | null> {
  const path = storage.path.join(dir, RUN_FILES.best, CHECKPOINT_FILES.state);
  if (!(await isFile(storage, path))) return null;
  try {
    const state = await readJsonObject(storage, path);
    const { bestValidLoss: loss, step } = state;
    return typeof loss === "number" && typeof step === "number" ? { loss, step } : null;
  } catch {
    return null; // a checkpoint being swapped or damaged: the metrics' figures stand
  }
}

/** The summary of a run from its metrics records (all of them, or those `summaryRecords` keeps). */
async function summaryOf(
  dir: string,
  records: MetricsRecord[],
  curves: RunCurves,
  storage: Storage,
): Promise<RunSummary> {
  let best: { loss: number; step: number } | null = null;
  for (const v of curves.valid) if (!Number.isNaN(v.loss) && (best === null || v.loss < best.loss)) best = v;
  // The best checkpoint says what it holds: a run imported from PyTorch, or one whose metrics.jsonl
  // lost lines, has a best/ that its evaluations alone would not name.
  const saved = await bestCheckpointFigures(dir, storage);
  if (saved !== null) best = saved;
  const lastSaved = (await listLastCheckpoints(dir, storage)).at(-1);
  const checkpointStep = lastSaved === undefined ? 0 : lastCheckpointStep(storage.path.basename(lastSaved));
  // Only the corpus is read from config.json, so a run of any format version (or with settings this
  // version no longer knows) is still listed.
  let data: string | null = null;
  const configPath = storage.path.join(dir, RUN_FILES.config);
  if ((await storage.stat(configPath)) !== null) {
    const config = await readJsonObject(storage, configPath);
    data = typeof config.data === "string" ? config.data : null;
  }
  return {
    dir,
    name: storage.path.basename(dir),
    hasMetrics: await isFile(storage, storage.path.join(dir, RUN_FILES.metrics)),
    lastStep: records.reduce((m, r) => Math.max(m, r.step), Math.max(checkpointStep, saved?.step ?? 0)),
    bestValidLoss: best?.loss ?? null,
    bestStep: best?.step ?? null,
    lastTrainLoss: curves.train.at(-1)?.loss ?? null,
    data,
    seconds: records.length > 0 ? records.at(-1)!.time - records[0].time : 0,
    status: await readRunStatus(dir, storage),
  };
}

/**
 * The records of a metrics.jsonl text that a summary reads, in file order: the first and the last,
 * every evaluation and the last training loss. Only those lines are parsed, found by searching the
 * text (a line names its split as a JSON string, so a substring finds the candidates and the parse
 * decides): listing twenty runs of 10,000 steps parses a few hundred lines, not 200,000.
 */
function summaryRecords(text: string, source: string): MetricsRecord[] {
  const kept = new Map<number, MetricsRecord>(); // by the line's start
  /** The record of the line holding offset `at` (kept), or null for a blank or cut-off last line. */
  const keep = (at: number): MetricsRecord | null => {
    const start = at === 0 ? 0 : text.lastIndexOf("\n", at - 1) + 1;
    const end = text.indexOf("\n", at);
    const line = text.slice(start, end === -1 ? text.length : end);
    // The line's number is counted only for an error message.
    const where = (): string => `${source}:${text.slice(0, start).split("\n").length}`;
    const r = parseMetricsLine(line, where, end === -1);
    if (r !== null) kept.set(start, r);
    return r;
  };
  /** The start of the line after the one holding `at` (-1: none). */
  const next = (at: number): number => {
    const nl = text.indexOf("\n", at);
    return nl === -1 ? -1 : nl + 1;
  };
  for (let at = 0; at !== -1 && at < text.length && keep(at) === null; at = next(at)); // the first record
  for (let at = text.length; at > 0 && keep(at) === null; at = text.lastIndexOf("\n", at - 1)); // the last
  for (let at = text.lastIndexOf('"train"'); at !== -1; at = at > 0 ? text.lastIndexOf('"train"', at - 1) : -1) {
    const r = keep(at);
    if (r?.split === "train" && typeof r.loss === "number") break; // the last training loss
  }
  for (let at = text.indexOf('"valid"'); at !== -1; at = text.indexOf('"valid"', at + 1)) keep(at);
  return [...kept.entries()].sort((x, y) => x[0] - y[0]).map(([, r]) => r);
}

/** One run's summary; of its metrics it parses only the lines the summary needs (see `summaryRecords`). */
export async function summarizeRun(dir: string, storage: Storage = platform().storage): Promise<RunSummary> {
  if (!(await isRunDirectory(dir, storage)))
    throw new Error(`${dir}: not a run directory (no ${RUN_FILES.metrics} or ${RUN_FILES.config})`);
  const path = storage.path.join(dir, RUN_FILES.metrics);
  const records = (await isFile(storage, path)) ? summaryRecords(await storage.readText(path), path) : [];
  return summaryOf(dir, records, curvesOf(records), storage);
}

/**
 * Summaries of every run directory (see `isRunDirectory`) directly under `root`, oldest first.
 * A run whose files cannot be read is listed with its error instead of stopping the listing.
 */
export async function listRuns(
  root: string,
  storage: Storage = platform().storage,
): Promise<(RunSummary | { dir: string; name: string; error: string })[]> {
  if ((await storage.stat(root)) === null) throw new Error(`${root}: no such directory`);
  const out: (RunSummary | { dir: string; name: string; error: string })[] = [];
  for (const name of (await storage.list(root)).sort()) {
    const dir = storage.path.join(root, name);
    if (!(await isRunDirectory(dir, storage))) continue;
    try {
      out.push(await summarizeRun(dir, storage));
    } catch (err) {
      out.push({ dir, name, error: (err as Error).message });
    }
  }
  return out;
}
