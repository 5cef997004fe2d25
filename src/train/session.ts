/**
 * One training session: the model, its optimizer, the loaders and the state that a checkpoint saves,
 * with the things the loop does: a training step (stopped by a non-finite loss or gradient), an
 * evaluation (with the best and latest checkpoints it may trigger), a latest checkpoint when
 * --save-steps or --save-minutes asks for one, and logging. `trainer.ts` sets a session up and drives it.
 */
import type { TrainConfig } from "../config.js";
import type { Backend } from "../engine/backend.js";
import { Rng } from "../util/rng.js";
import type { MlmDataLoader } from "../data/index.js";
import {
  evaluateSplit,
  packBatch,
  type EvalMetrics,
  type MlmModel,
  type ModelConfig,
  type PackMode,
  type PackedBatch,
} from "../model/index.js";
import type { MetricsLog, RunDirectory } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { SummaryWriter } from "../track/index.js";
import { checkFiniteParams, diagnoseNonFinite, observeLoss, type LossWatchState } from "./health.js";
import { NonFiniteGradientError, type Adam } from "./optimizer.js";
import { learningRateAt, type ScheduleOptions } from "./schedule.js";
import type { TrainState } from "./train-state.js";

/** What a session is made of; the trainer builds these. */
export interface SessionParts {
  config: TrainConfig;
  modelConfig: ModelConfig;
  run: RunDirectory;
  backend: Backend;
  model: MlmModel;
  adam: Adam;
  tokenizer: Tokenizer;
  trainLoader: MlmDataLoader;
  validLoader: MlmDataLoader;
  packMode: PackMode;
  writer: SummaryWriter;
  metrics: MetricsLog;
  log: (line: string) => void;
  /** Where a warning goes (a diverging loss); it is also recorded in metrics.jsonl. */
  warn: (line: string) => void;
  /** The learning-rate schedule; its totalSteps is the run's last step. */
  schedule: ScheduleOptions;
}

/**
 * Whether the evaluation of the state's step is due and not yet recorded: at step 0 with
 * evalAtStart, every evalSteps steps and at the last step. A run interrupted during an evaluation
 * saves its checkpoint without it, so its resumed run evaluates first.
 */
export function evaluationDue(state: TrainState, config: TrainConfig, totalSteps: number): boolean {
  const step = state.step;
  if (state.validHistory.at(-1)?.step === step) return false;
  return step === 0 ? config.evalAtStart : step % config.evalSteps === 0 || step === totalSteps;
}

/** A fresh state for step 0. */
export function initialState(trainLoader: MlmDataLoader, dropoutRng: Rng): TrainState {
  return {
    step: 0,
    loader: trainLoader.position(),
    dropoutRng: dropoutRng.state(),
    bestValidLoss: null,
    bestStep: null,
    evalsWithoutImprovement: 0,
    validHistory: [],
    tokensSeen: 0,
    paddedTokensSeen: 0,
    trainSeconds: 0,
    lossSinceLog: 0,
    stepsSinceLog: 0,
  };
}

/** Figures of one optimizer step. */
export interface StepFigures {
  loss: number;
  lr: number;
  gradNorm: number;
  epoch: number;
}

/** The state and the steps of one training session; see the module comment. */
export class TrainingSession {
  /** Every evaluation of this session (and, after a resume, the losses of the earlier ones). */
  readonly evaluations: { step: number; metrics: EvalMetrics }[];
  private packed: PackedBatch | undefined;
  /** Sum of the micro-batch gradients when accumulating (null: one batch per step). */
  private readonly accumGrads: Float32Array | null;
  /** The step of the newest latest checkpoint, written or resumed from (null: none yet). */
  latestStep: number | null = null;
  /** When the last latest checkpoint was written (performance.now() ms), for --save-minutes. */
  private lastSave = performance.now();
  /** The step whose parameters were last found finite (each checkpoint checks them once per step). */
  private finiteStep = -1;
  /** The divergence warning's part of the state. */
  private readonly lossWatch: LossWatchState;

  constructor(
    readonly parts: SessionParts,
    readonly state: TrainState,
    private readonly dropoutRng: Rng,
  ) {
    const { config, backend, model } = parts;
    this.accumGrads = config.gradAccumSteps > 1 ? backend.alloc(model.grads.length) : null;
    this.evaluations = state.validHistory.map(({ step, ...metrics }) => ({ step, metrics }));
    // Fresh runs, and checkpoints of mlm-ts 0.1.0, start watching at their next step.
    this.lossWatch = state.lossWatch ??= { firstLoss: null, smoothedLoss: 0, warned: false };
  }

  /**
   * One optimizer step over `gradAccumSteps` batches; updates the state's counters. Accumulated
   * gradients are weighted by each batch's masked-token count, so that k batches of n sentences give
   * the loss and gradient of one batch of k * n sentences (the mean over all their masked tokens).
   * A NaN or infinite loss or gradient norm throws a NonFiniteError naming the step and the first
   * tensor that went bad, before the parameters change.
   */
  step(): StepFigures {
    const { config, model, adam, trainLoader, packMode } = this.parts;
    const t0 = performance.now();
    let lossSum = 0;
    let count = 0;
    let epoch = 0;
    for (let micro = 0; micro < config.gradAccumSteps; micro++) {
      const next = trainLoader.next();
      epoch = next.epoch;
      const batch = next.batch;
      this.packed = packBatch(batch, packMode, this.packed);
      const r = model.forwardBackward(this.packed, {
        train: true,
        dropoutRng: this.dropoutRng,
        fullHead: config.fullHead,
      });
      lossSum += r.loss * r.count;
      count += r.count;
      for (let b = 0; b < batch.B; b++) this.state.tokensSeen += batch.lengths[b];
      this.state.paddedTokensSeen += batch.B * batch.S;
      const acc = this.accumGrads;
      if (acc !== null) this.parts.backend.scaleAdd(acc, model.grads, acc.length, r.count, micro > 0);
    }
    const acc = this.accumGrads;
    if (acc !== null) this.parts.backend.scaleAdd(acc, acc, acc.length, count > 0 ? 1 / count : 0, false);
    const loss = count > 0 ? lossSum / count : 0;
    const step = this.state.step + 1;
    const grads = this.accumGrads ?? model.grads;
    if (!Number.isFinite(loss)) throw diagnoseNonFinite(step, loss, null, model.specs, model.params, grads);
    const lr = learningRateAt(step, this.parts.schedule);
    let gradNorm: number;
    try {
      gradNorm = adam.update(model.params, grads, lr).gradNorm;
    } catch (err) {
      if (err instanceof NonFiniteGradientError)
        throw diagnoseNonFinite(step, loss, err.gradNorm, model.specs, model.params, grads);
      throw err;
    }
    this.state.step = step;
    this.state.trainSeconds += (performance.now() - t0) / 1000;
    this.state.lossSinceLog += loss;
    this.state.stepsSinceLog++;
    const warning = observeLoss(this.lossWatch, step, loss);
    if (warning !== null) {
      this.parts.warn(`warning: ${warning}`);
      this.parts.metrics.log(step, { warning: "divergence", message: warning });
    }
    return { loss, lr, gradNorm, epoch };
  }

  /**
   * Logs the mean training loss since the last log (TensorBoard, metrics.jsonl, a line when stderr
   * is not a terminal). Throughput figures are over the whole session so far.
   */
  logTraining(figures: StepFigures, tokensPerSec: number, paddedPerSec: number): void {
    const { writer, metrics, log } = this.parts;
    const s = this.state;
    const mean = s.lossSinceLog / s.stepsSinceLog;
    writer.addScalar("Loss/train", mean, s.step);
    writer.addScalar("LearningRate", figures.lr, s.step);
    writer.addScalar("GradNorm", figures.gradNorm, s.step);
    writer.addScalar("Throughput/tokens_per_sec", tokensPerSec, s.step);
    writer.addScalar("Throughput/padded_tokens_per_sec", paddedPerSec, s.step);
    metrics.log(s.step, {
      split: "train",
      loss: mean,
      lr: figures.lr,
      gradNorm: figures.gradNorm,
      tokensPerSec,
      epoch: figures.epoch + 1,
    });
    if (!process.stderr.isTTY)
      log(
        `step ${s.step}: training loss ${mean.toFixed(4)} (mean of the last ${s.stepsSinceLog} steps), lr ${figures.lr.toExponential(2)}, ${formatRate(tokensPerSec)} tokens/s`,
      );
    s.lossSinceLog = 0;
    s.stepsSinceLog = 0;
  }

  /**
   * Scores the whole validation split (fixed masks) and records it. Once `signal` is aborted it stops
   * between two batches, throwing the signal's reason, and records nothing.
   */
  async evaluate(signal?: AbortSignal): Promise<EvalMetrics> {
    const { config, model, validLoader, packMode, writer, metrics, log } = this.parts;
    const t0 = Date.now();
    const result = await evaluateSplit(model, validLoader, {
      packMode,
      fullHead: config.fullHead,
      packed: this.packed,
      progress: config.progress,
      label: "eval",
      signal,
    });
    const step = this.state.step;
    writer.addScalar("Loss/valid", result.loss, step);
    writer.addScalar("Perplexity/valid", result.perplexity, step);
    writer.addScalar("Accuracy/valid_top1", result.accuracy, step);
    writer.addScalar("Accuracy/valid_top5", result.top5, step);
    metrics.log(step, {
      split: "valid",
      loss: result.loss,
      perplexity: result.perplexity,
      accuracy: result.accuracy,
      top5: result.top5,
      tokens: result.tokens,
    });
    this.evaluations.push({ step, metrics: result });
    this.state.validHistory.push({ step, ...result });
    log(
      `step ${step}: validation loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(1)}, accuracy ${pct(result.accuracy)} (top-5 ${pct(result.top5)}) [${Date.now() - t0} ms]`,
    );
    return result;
  }

  /** Evaluates, keeps the best checkpoint and the latest ones; true when early stopping fires. */
  async evaluateAndCheckpoint(signal?: AbortSignal): Promise<boolean> {
    const { config, run, log } = this.parts;
    const s = this.state;
    const { loss } = await this.evaluate(signal);
    if (s.bestValidLoss === null || loss < s.bestValidLoss) {
      s.bestValidLoss = loss;
      s.bestStep = s.step;
      s.evalsWithoutImprovement = 0;
      await this.checkpoint(run.bestDir);
      log(`step ${s.step}: new best validation loss, checkpoint saved to ${run.bestDir}`);
    } else {
      s.evalsWithoutImprovement++;
    }
    await this.saveLatest();
    return config.earlyStopping > 0 && s.evalsWithoutImprovement >= config.earlyStopping;
  }

  /** Whether --save-steps or --save-minutes asks for a latest checkpoint at this step. */
  saveDue(): boolean {
    const { saveSteps, saveMinutes } = this.parts.config;
    const step = this.state.step;
    if (this.latestStep === step) return false;
    return (
      (saveSteps > 0 && step % saveSteps === 0) ||
      (saveMinutes > 0 && performance.now() - this.lastSave >= saveMinutes * 60_000)
    );
  }

  /** Writes `last-<step>` (when --keep-last > 0) and deletes the older ones beyond the limit. */
  async saveLatest(): Promise<void> {
    const { config, run } = this.parts;
    this.lastSave = performance.now();
    if (config.keepLast === 0) return;
    await this.checkpoint(run.lastDir(this.state.step));
    await run.pruneLastCheckpoints(config.keepLast);
    this.latestStep = this.state.step;
  }

  /**
   * Everything needed to resume exactly: weights, Adam moments, loader position, generators. Weights
   * that are not all finite are never written (a NonFiniteError names the first bad one).
   */
  private async checkpoint(dir: string): Promise<void> {
    const { config, modelConfig, run, model, adam, tokenizer, trainLoader } = this.parts;
    if (this.finiteStep !== this.state.step) {
      checkFiniteParams(this.state.step, model.specs, model.params);
      this.finiteStep = this.state.step;
    }
    this.state.loader = trainLoader.position();
    this.state.dropoutRng = this.dropoutRng.state();
    await run.saveCheckpoint(dir, {
      config,
      modelConfig,
      tensors: model.tensors(),
      tokenizerJson: tokenizer.toString(),
      state: this.state,
      optimizer: [
        { name: "adam.m", shape: [adam.m.length], data: adam.m },
        { name: "adam.v", shape: [adam.v.length], data: adam.v },
      ],
    });
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** 6123 -> "6.1k". */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}
