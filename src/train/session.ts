/**
 * One training session: the model, its optimizer, the loaders and the state that a checkpoint saves,
 * and the loop over them: training steps, evaluations (with the best and latest checkpoints they may
 * trigger), logging, stopping. The session owns the loop's state; `trainer.ts` sets a session up,
 * runs it and reports what it reached.
 */
import type { TrainConfig } from "../config.js";
import type { MlmDataLoader } from "../data/index.js";
import { evaluateSplit, type EvalMetrics, type MlmModel } from "../model/index.js";
import type { MetricsLog, RunDirectory } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { SummaryWriter } from "../track/index.js";
import { createProgress } from "../util/progress.js";
import type { Rng } from "../util/rng.js";
import type { Adam } from "./optimizer.js";
import { learningRateAt, type ScheduleOptions } from "./schedule.js";
import type { TrainState } from "./train-state.js";

/** What a session is made of; the trainer builds these. */
export interface SessionParts {
  config: TrainConfig;
  run: RunDirectory;
  model: MlmModel;
  adam: Adam;
  tokenizer: Tokenizer;
  trainLoader: MlmDataLoader;
  validLoader: MlmDataLoader;
  log: (line: string) => void;
  /** The learning-rate schedule; its totalSteps is where the loop ends. */
  schedule: ScheduleOptions;
  /** The epochs the run reaches, for the progress bar. */
  epochsReached: number;
}

/** Where a session starts: a fresh state (step 0) or a checkpoint's, and the dropout generator. */
export interface SessionStart {
  state: TrainState;
  dropoutRng: Rng;
  /** Continued from a checkpoint (no evaluation at start). */
  resumed: boolean;
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

/** Why the loop ended. */
export type StopReason = "schedule" | "early-stopping" | "signal";

/** What a session reached (the trainer adds the run directory and the wall time). */
export interface SessionOutcome {
  steps: number;
  epochs: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  /** Every evaluation: step and metrics. */
  evaluations: { step: number; metrics: EvalMetrics }[];
  /** Mean training step time (evaluations excluded), in ms. */
  msPerStep: number;
  /** Real (non-padding) tokens per second of training. */
  tokensPerSecond: number;
  stoppedBy: StopReason;
}

/** The state and the loop of one training session; see the module comment. */
export class TrainingSession {
  /** Every evaluation of this session (and, after a resume, the losses of the earlier ones). */
  readonly evaluations: { step: number; metrics: EvalMetrics }[];
  readonly state: TrainState;
  private readonly dropoutRng: Rng;
  private readonly resumed: boolean;
  /** The state's counters when the session started (throughput is over this session only). */
  private readonly begin: { step: number; seconds: number; tokens: number; padded: number };
  /** Epoch of the latest training batch. */
  private epoch: number;

  /** Opens the run's metrics.jsonl and TensorBoard file for a session starting at `start`. */
  static async open(parts: SessionParts, start: SessionStart): Promise<TrainingSession> {
    return new TrainingSession(parts, start, await parts.run.openMetrics(), new SummaryWriter(parts.run.dir));
  }

  private constructor(
    readonly parts: SessionParts,
    start: SessionStart,
    private readonly metrics: MetricsLog,
    private readonly writer: SummaryWriter,
  ) {
    const { state } = start;
    this.state = state;
    this.dropoutRng = start.dropoutRng;
    this.resumed = start.resumed;
    this.evaluations = state.validHistory.map(({ step, ...metrics }) => ({ step, metrics }));
    this.begin = {
      step: state.step,
      seconds: state.trainSeconds,
      tokens: state.tokensSeen,
      padded: state.paddedTokensSeen,
    };
    this.epoch = state.loader.epoch;
  }

  /** Whether this session has done a training step. */
  get trained(): boolean {
    return this.state.step > this.begin.step;
  }

  /**
   * Trains until the schedule's last step, early stopping or `signal` (then after the current step,
   * with a latest checkpoint); evaluates at the start of a new run when configured, every evalSteps
   * and at the end.
   */
  async run(signal?: AbortSignal): Promise<SessionOutcome> {
    const { config, log, run } = this.parts;
    const total = this.parts.schedule.totalSteps;
    const s = this.state;
    let stoppedBy: StopReason = "schedule";
    if (!this.resumed && config.evalAtStart && (await this.evaluateAndCheckpoint())) stoppedBy = "early-stopping";
    const bar = createProgress({ label: "train", total, silent: !config.progress });
    bar.update(s.step);
    while (stoppedBy === "schedule" && s.step < total) {
      if (signal?.aborted) {
        stoppedBy = "signal";
        break;
      }
      const figures = this.step();
      const seconds = Math.max(1e-9, s.trainSeconds - this.begin.seconds);
      const tokensPerSec = (s.tokensSeen - this.begin.tokens) / seconds;
      if (s.step % config.logSteps === 0)
        this.logTraining(figures, tokensPerSec, (s.paddedTokensSeen - this.begin.padded) / seconds);
      if ((s.step % config.evalSteps === 0 || s.step === total) && (await this.evaluateAndCheckpoint()))
        stoppedBy = "early-stopping";
      const lastValid = s.validHistory.at(-1)?.loss;
      bar.update(
        s.step,
        `epoch ${this.epoch + 1}/${this.parts.epochsReached} loss ${figures.loss.toFixed(3)} val ` +
          `${lastValid === undefined ? "-" : lastValid.toFixed(3)} ${formatRate(tokensPerSec)} tok/s`,
      );
    }
    bar.stop();
    if (stoppedBy !== "schedule" && s.validHistory.at(-1)?.step !== s.step) await this.saveLatest();
    if (stoppedBy === "early-stopping")
      log(`early stopping: ${s.evalsWithoutImprovement} evaluations without improvement`);
    if (stoppedBy === "signal") log(`stopped at step ${s.step}; resume with: mlm train --resume ${run.dir}`);
    return this.outcome(stoppedBy);
  }

  /** Closes the TensorBoard and metrics files (what was logged stays on disk, also after an error). */
  async close(): Promise<void> {
    this.writer.close();
    await this.metrics.close();
  }

  /**
   * One optimizer step over `gradAccumSteps` batches (accumulated by the model, weighted by their
   * masked tokens); updates the state's counters.
   */
  private step(): StepFigures {
    const { config, model, adam, trainLoader } = this.parts;
    const s = this.state;
    const t0 = performance.now();
    for (let micro = 0; micro < config.gradAccumSteps; micro++) {
      const { epoch, batch } = trainLoader.next();
      this.epoch = epoch;
      model.forwardBackward(batch, {
        train: true,
        dropoutRng: this.dropoutRng,
        fullHead: config.fullHead,
        accumulate: true,
      });
      s.tokensSeen += batch.tokens;
      s.paddedTokensSeen += batch.numSeqs * batch.width;
    }
    const { loss } = model.endAccumulation();
    const lr = learningRateAt(s.step + 1, this.parts.schedule);
    const { gradNorm } = adam.update(model.params, model.grads, lr);
    s.step++;
    s.trainSeconds += (performance.now() - t0) / 1000;
    s.lossSinceLog += loss;
    s.stepsSinceLog++;
    return { loss, lr, gradNorm, epoch: this.epoch };
  }

  /**
   * Logs the mean training loss since the last log (TensorBoard, metrics.jsonl, a line when stderr
   * is not a terminal). Throughput figures are over the whole session so far.
   */
  private logTraining(figures: StepFigures, tokensPerSec: number, paddedPerSec: number): void {
    const { writer, metrics } = this;
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
      this.parts.log(
        `step ${s.step}: training loss ${mean.toFixed(4)} (mean of the last ${s.stepsSinceLog} steps), lr ` +
          `${figures.lr.toExponential(2)}, ${formatRate(tokensPerSec)} tokens/s`,
      );
    s.lossSinceLog = 0;
    s.stepsSinceLog = 0;
  }

  /** Scores the whole validation split (fixed masks) and records it. */
  private evaluate(): EvalMetrics {
    const { config, model, validLoader, log } = this.parts;
    const { writer, metrics } = this;
    const t0 = Date.now();
    const result = evaluateSplit(model, validLoader, {
      fullHead: config.fullHead,
      progress: config.progress,
      label: "eval",
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
      `step ${step}: validation loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(1)}, accuracy ` +
        `${pct(result.accuracy)} (top-5 ${pct(result.top5)}) [${Date.now() - t0} ms]`,
    );
    return result;
  }

  /** Evaluates, keeps the best checkpoint and the latest ones; true when early stopping fires. */
  private async evaluateAndCheckpoint(): Promise<boolean> {
    const { config, run, log } = this.parts;
    const s = this.state;
    const { loss } = this.evaluate();
    if (s.bestValidLoss === null || loss < s.bestValidLoss) {
      s.bestValidLoss = loss;
      s.bestStep = s.step;
      s.evalsWithoutImprovement = 0;
      await this.checkpoint(run.bestDir, false); // for inference: no optimizer moments
      log(`step ${s.step}: new best validation loss, checkpoint saved to ${run.bestDir}`);
    } else {
      s.evalsWithoutImprovement++;
    }
    await this.saveLatest();
    return config.earlyStopping > 0 && s.evalsWithoutImprovement >= config.earlyStopping;
  }

  /** Writes `last-<step>` (when --keep-last > 0) and deletes the older ones beyond the limit. */
  private async saveLatest(): Promise<void> {
    const { config, run } = this.parts;
    if (config.keepLast === 0) return;
    await this.checkpoint(run.lastDir(this.state.step));
    await run.pruneLastCheckpoints(config.keepLast);
  }

  /**
   * Everything needed to resume exactly: weights, Adam moments, loader position, generators. The Adam
   * moments (twice the weights' size) only where a resume reads them (`last-*`), unless `withOptimizer` is false.
   */
  private async checkpoint(dir: string, withOptimizer = true): Promise<void> {
    const { config, run, model, adam, tokenizer, trainLoader } = this.parts;
    this.state.loader = trainLoader.position();
    this.state.dropoutRng = this.dropoutRng.state();
    await run.saveCheckpoint(dir, {
      config,
      modelConfig: model.config,
      tensors: model.tensors(),
      tokenizerJson: tokenizer.toString(),
      state: this.state,
      optimizer: withOptimizer
        ? [
            { name: "adam.m", shape: [adam.m.length], data: adam.m },
            { name: "adam.v", shape: [adam.v.length], data: adam.v },
          ]
        : undefined,
    });
  }

  /** The figures of the session so far. */
  private outcome(stoppedBy: StopReason): SessionOutcome {
    const s = this.state;
    const stepsRun = s.step - this.begin.step;
    const secondsRun = s.trainSeconds - this.begin.seconds;
    return {
      steps: s.step,
      epochs: this.epoch + 1,
      bestValidLoss: s.bestValidLoss,
      bestStep: s.bestStep,
      evaluations: this.evaluations,
      msPerStep: stepsRun > 0 ? (1000 * secondsRun) / stepsRun : Number.NaN,
      tokensPerSecond: secondsRun > 0 ? (s.tokensSeen - this.begin.tokens) / secondsRun : Number.NaN,
      stoppedBy,
    };
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** 6123 -> "6.1k". */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}
