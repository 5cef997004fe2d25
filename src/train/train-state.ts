/** The training state saved in every checkpoint (train_state.json), besides weights and Adam moments. */
import type { RngState } from "../util/rng.js";
import type { LoaderPosition } from "../data/index.js";
import type { EvalMetrics } from "../model/index.js";
import type { LossWatchState } from "./health.js";

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
  /** The divergence warning's smoothed loss (absent in checkpoints of mlm-ts 0.1.0). */
  lossWatch?: LossWatchState;
  /** Kernels of the latest session (e.g. "wasm-simd-fma"): other kernels change the last bits of the losses. */
  kernels?: string;
}
