/** The training state saved in every checkpoint (train_state.json), besides weights and Adam moments. */
import type { RngState } from "../util/rng.js";
import type { LoaderPosition } from "../data/index.js";
import type { EvalMetrics } from "../model/index.js";
import type { LossWatchState } from "./health.js";

/** Everything besides weights and optimizer moments needed to continue a run exactly; `M`: a task's evaluation metrics. */
export interface TrainState<M = EvalMetrics> {
  /** Optimizer steps done. */
  step: number;
  /** Position of the training loader: the next batch to read. */
  loader: LoaderPosition;
  /** Generator of the dropout masks. */
  dropoutRng: RngState;
  /** The validation loss of the best checkpoint (whichever metric picked it; see bestValue in loop.ts). */
  bestValidLoss: number | null;
  bestStep: number | null;
  /** Evaluations in a row without improvement (early stopping). */
  evalsWithoutImprovement: number;
  /** Every evaluation so far: step and metrics. */
  validHistory: ({ step: number } & M)[];
  /** Real tokens trained on so far. */
  tokensSeen: number;
  /** Tokens including padding, as the batches were laid out. */
  paddedTokensSeen: number;
  /** Training wall time so far, in seconds (evaluations excluded). */
  trainSeconds: number;
  /** Sum and count of the training losses since the last log, so that a resumed run logs the same means. */
  lossSinceLog: number;
  stepsSinceLog: number;
  /** The divergence warning's smoothed loss (absent in checkpoints of run format 0). */
  lossWatch?: LossWatchState;
  /** Kernels of the latest session (e.g. "wasm-simd-fma"): other kernels change the last bits of the losses. */
  kernels?: string;
}

/**
 * The metrics of an evaluation as train_state.json's validHistory holds them: `values` numbers (or
 * null: JSON writes a NaN so), `counts` whole numbers.
 */
export interface StateMetricKeys {
  values: readonly string[];
  counts: readonly string[];
}

/** The masked language model's evaluation metrics (EvalMetrics). */
export const MLM_STATE_METRICS: StateMetricKeys = {
  values: ["loss", "perplexity", "accuracy", "top5"],
  counts: ["tokens"],
};

/**
 * `raw` (a parsed train_state.json) as a TrainState, or a one-line error naming `source` and the first
 * field that is missing or of the wrong kind. Losses may be null: JSON writes a NaN loss so.
 * `metrics` names the keys of each evaluation (a task's; the masked language model's by default).
 *
 * @example
 *   const state = parseTrainState(JSON.parse(text), "runs/a/last-00000300/train_state.json");
 */
export function parseTrainState<M = EvalMetrics>(
  raw: Record<string, unknown>,
  source: string,
  metrics: StateMetricKeys = MLM_STATE_METRICS,
): TrainState<M> {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new Error(
      `${source}: "${field}" must be ${expected}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`,
    );
  };
  const object = (field: string, value: unknown): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : fail(field, "an object", value);
  const count = (field: string, value: unknown): void => {
    if (!(typeof value === "number" && Number.isSafeInteger(value) && value >= 0))
      fail(field, "a whole number >= 0", value);
  };
  const amount = (field: string, value: unknown): void => {
    if (!(typeof value === "number" && value >= 0 && Number.isFinite(value))) fail(field, "a number >= 0", value);
  };
  const loss = (field: string, value: unknown): void => {
    if (value !== null && typeof value !== "number") fail(field, "a number or null", value);
  };
  const rng = (field: string, value: unknown): void => {
    const r = object(field, value);
    const words = r.s;
    if (
      !Array.isArray(words) ||
      words.length !== 4 ||
      !words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
    )
      fail(`${field}.s`, "four 32-bit unsigned integers", words);
    loss(`${field}.spare`, r.spare);
  };

  count("step", raw.step);
  const loader = object("loader", raw.loader);
  count("loader.epoch", loader.epoch);
  count("loader.index", loader.index);
  rng("loader.rng", loader.rng);
  rng("dropoutRng", raw.dropoutRng);
  loss("bestValidLoss", raw.bestValidLoss);
  if (raw.bestStep !== null) count("bestStep", raw.bestStep);
  count("evalsWithoutImprovement", raw.evalsWithoutImprovement);
  if (!Array.isArray(raw.validHistory)) fail("validHistory", "an array", raw.validHistory);
  (raw.validHistory as unknown[]).forEach((entry, i) => {
    const e = object(`validHistory[${i}]`, entry);
    count(`validHistory[${i}].step`, e.step);
    for (const key of metrics.values) loss(`validHistory[${i}].${key}`, e[key]);
    for (const key of metrics.counts) count(`validHistory[${i}].${key}`, e[key]);
  });
  amount("tokensSeen", raw.tokensSeen);
  amount("paddedTokensSeen", raw.paddedTokensSeen);
  amount("trainSeconds", raw.trainSeconds);
  loss("lossSinceLog", raw.lossSinceLog);
  count("stepsSinceLog", raw.stepsSinceLog);
  if (raw.kernels !== undefined && typeof raw.kernels !== "string") fail("kernels", "a string", raw.kernels);
  return raw as unknown as TrainState<M>;
}
