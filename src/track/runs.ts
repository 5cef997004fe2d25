/**
 * Summaries of run directories, read from their metrics.jsonl and config.json: what `mlm runs` shows.
 *
 * @example
 *   listRuns("runs").forEach((r) => console.log(r.name, r.lastStep, r.bestValidLoss));
 *   runCurves("runs/2026-11-28_10-00-00").valid; // [{ step, loss, perplexity, accuracy, top5 }]
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { readMetrics, type MetricsRecord } from "./metrics.js";

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

/**
 * Whether `dir` is a run directory: it has a metrics.jsonl, or the config.json a run writes first
 * (a checkpoint directory, which holds model.safetensors, is not a run).
 */
export function isRunDirectory(dir: string): boolean {
  if (existsSync(join(dir, "metrics.jsonl"))) return true;
  return existsSync(join(dir, "config.json")) && !existsSync(join(dir, "model.safetensors"));
}

/** A run's metrics records; none when the run has not logged any yet. */
function readRunMetrics(dir: string): MetricsRecord[] {
  if (!isRunDirectory(dir)) throw new Error(`${dir}: not a run directory (no metrics.jsonl or config.json)`);
  const path = join(dir, "metrics.jsonl");
  return existsSync(path) ? readMetrics(path) : [];
}

/** The training and validation curves of one run. */
export function runCurves(dir: string): RunCurves {
  return curvesOf(readRunMetrics(dir));
}

/** One run's summary and curves, reading its files once. */
export function inspectRun(dir: string): RunSummary & RunCurves {
  const records = readRunMetrics(dir);
  const curves = curvesOf(records);
  let best: RunCurves["valid"][number] | null = null;
  for (const v of curves.valid) if (!Number.isNaN(v.loss) && (best === null || v.loss < best.loss)) best = v;
  let data: string | null = null;
  const configPath = join(dir, "config.json");
  if (existsSync(configPath)) {
    let config: { data?: unknown };
    try {
      config = JSON.parse(readFileSync(configPath, "utf8")) as { data?: unknown };
    } catch (err) {
      throw new Error(`${configPath}: not valid JSON (${(err as Error).message})`);
    }
    data = typeof config.data === "string" ? config.data : null;
  }
  return {
    dir,
    name: basename(dir),
    hasMetrics: existsSync(join(dir, "metrics.jsonl")),
    lastStep: records.reduce((m, r) => Math.max(m, r.step), 0),
    bestValidLoss: best?.loss ?? null,
    bestStep: best?.step ?? null,
    lastTrainLoss: curves.train.at(-1)?.loss ?? null,
    data,
    seconds: records.length > 0 ? records.at(-1)!.time - records[0].time : 0,
    ...curves,
  };
}

/** One run's summary. */
export function summarizeRun(dir: string): RunSummary {
  const { train: _train, valid: _valid, ...summary } = inspectRun(dir);
  return summary;
}

/**
 * Summaries of every run directory (see `isRunDirectory`) directly under `root`, oldest first.
 * A run whose files cannot be read is listed with its error instead of stopping the listing.
 */
export function listRuns(root: string): (RunSummary | { dir: string; name: string; error: string })[] {
  if (!existsSync(root)) throw new Error(`${root}: no such directory`);
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => statSync(dir).isDirectory() && isRunDirectory(dir))
    .sort()
    .map((dir) => {
      try {
        return summarizeRun(dir);
      } catch (err) {
        return { dir, name: basename(dir), error: (err as Error).message };
      }
    });
}
