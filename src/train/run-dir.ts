/**
 * The layout of a run directory and the training state saved in its checkpoints.
 *
 *   RUN_DIR/
 *     config.json            the run's full configuration (TrainConfig)
 *     tokenizer.json         the tokenizer (Hugging Face format)
 *     metrics.jsonl          one line per logged training loss or evaluation
 *     events.out.tfevents.*  TensorBoard scalars (Loss/train, Loss/valid, ...)
 *     best/                  checkpoint with the lowest validation loss so far
 *     last-<step>/           the latest checkpoints (--keep-last N of them), for --resume
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RngState } from "../engine/rng.js";
import type { LoaderPosition } from "../data/index.js";
import type { EvalMetrics } from "./evaluate.js";

/** Names of the files and folders of a run directory (see the module comment). */
export const RUN_FILES = {
  config: "config.json",
  tokenizer: "tokenizer.json",
  metrics: "metrics.jsonl",
  best: "best",
} as const;

/** Everything besides weights and optimizer moments needed to continue a run exactly. */
export interface TrainState {
  /** Optimizer steps done. */
  step: number;
  /** Position of the training loader: the next batch to read. */
  loader: LoaderPosition;
  /** Generator of the dropout masks. */
  dropoutRng: RngState;
  bestValidLoss: number | null;
  bestStep: number | null;
  /** Evaluations in a row without improvement (early stopping). */
  evalsWithoutImprovement: number;
  /** Every evaluation so far: step and metrics. */
  validHistory: ({ step: number } & EvalMetrics)[];
  /** Real tokens trained on so far. */
  tokensSeen: number;
  /** Tokens including padding, as the batches were laid out. */
  paddedTokensSeen: number;
  /** Training wall time so far, in seconds (evaluations excluded). */
  trainSeconds: number;
  /** Sum and count of the training losses since the last log, so that a resumed run logs the same means. */
  lossSinceLog: number;
  stepsSinceLog: number;
  /** Kernels of the latest session (e.g. "wasm-simd-fma"): other kernels change the last bits of the losses. */
  kernels?: string;
}

const LAST_PREFIX = "last-";

/** Directory name of the latest checkpoint at `step`. */
export function lastCheckpointName(step: number): string {
  return `${LAST_PREFIX}${String(step).padStart(8, "0")}`;
}

/** The `last-*` checkpoints of a run, oldest first. */
export function listLastCheckpoints(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((name) => name.startsWith(LAST_PREFIX) && /^\d+$/.test(name.slice(LAST_PREFIX.length)))
    .sort()
    .map((name) => join(runDir, name));
}

/** Deletes all but the newest `keep` latest checkpoints. */
export function pruneLastCheckpoints(runDir: string, keep: number): void {
  const all = listLastCheckpoints(runDir);
  for (const dir of all.slice(0, Math.max(0, all.length - keep))) rmSync(dir, { recursive: true, force: true });
}

/** Default run directory: runs/<YYYY-MM-DD_HH-MM-SS> under the working directory. */
export function defaultRunDir(now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace("T", "_").replace(/:/g, "-");
  return join("runs", stamp);
}
