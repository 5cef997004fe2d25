/**
 * One training session: the model, its optimizer, the loaders and the state that a checkpoint saves,
 * and the loop over them: training steps (stopped by a non-finite loss or gradient), evaluations (with
 * the best and latest checkpoints they may trigger), a latest checkpoint when --save-steps or
 * --save-minutes asks for one, logging, stopping (after a step, or between two evaluation batches,
 * once the signal is aborted). The session owns the loop's state; `trainer.ts` sets a session up,
 * runs it and reports what it reached.
 */
import type { TrainConfig } from "../config.js";
import type { MlmDataLoader } from "../data/index.js";
import { evaluateSplit, type EvalMetrics, type MlmModel } from "../model/index.js";
import type { MetricsLog, RunDirectory } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { SummaryWriter } from "../track/index.js";
import { writeCurvesSvg } from "../track/curves-svg.js";
import { createProgress, stderrIsTerminal } from "../util/progress.js";
import { Pacer } from "../util/cooperative.js";
import type { Rng } from "../util/rng.js";
import { checkFiniteParams, diagnoseNonFinite, observeLoss, type LossWatchState } from "./health.js";
import { NonFiniteGradientError, type Adam } from "./optimizer.js";
import { learningRateAt, type ScheduleOptions } from "./schedule.js";
import { planBudgetSteps, REPLANS, StepPace, TIMING_STEPS, type TimeBudget } from "./time-budget.js";
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
  /** Where a warning goes (a diverging loss); it is also recorded in metrics.jsonl. */
  warn: (line: string) => void;
  /** The learning-rate schedule; its totalSteps is where the loop ends. */
  schedule: ScheduleOptions;
  /** The epochs the run reaches, for the progress bar. */
  epochsReached: number;
  /** A deadline whose step count is not fixed yet (see time-budget.ts), or null. */
  budget: TimeBudget | null;
}

/** Where a session starts: a fresh state (step 0) or a checkpoint's, and the dropout generator. */
export interface SessionStart {
  state: TrainState;
  dropoutRng: Rng;
  /** Continued from a checkpoint (whose step is then the latest checkpoint's). */
  resumed: boolean;
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

/**
 * Why the loop ended; "complete": a resumed run had nothing left to do (its last step done and
 * evaluated, or early stopping fired), so nothing was run or written.
 */
export type StopReason = "schedule" | "early-stopping" | "signal" | "complete";

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
  /** The newest latest checkpoint, the one --resume continues from (null: none, with --keep-last 0). */
  latestCheckpoint: string | null;
  stoppedBy: StopReason;
}

/** The state and the loop of one training session; see the module comment. */
export class TrainingSession {
  /** Every evaluation of this session (and, after a resume, the losses of the earlier ones). */
  readonly evaluations: { step: number; metrics: EvalMetrics }[];
  readonly state: TrainState;
  private readonly dropoutRng: Rng;
  /** The state's counters when the session started (throughput is over this session only). */
  private readonly begin: { step: number; seconds: number; tokens: number; padded: number };
  /** Epoch of the latest training batch. */
  private epoch: number;
  /** The step of the newest latest checkpoint, written or resumed from (null: none yet). */
  private latestStep: number | null;
  /** When the last latest checkpoint was written (performance.now() ms), for --save-minutes. */
  private lastSave = performance.now();
  /** The step whose parameters were last found finite (each checkpoint checks them once per step). */
  private finiteStep = -1;
  /** The divergence warning's part of the state. */
  private readonly lossWatch: LossWatchState;
  /** Whether the time budget has fixed the number of steps in this session. */
  private budgetFixed = false;
  /** The most steps a budget may plan: the schedule's end before the first plan (its epochs, maxSteps). */
  private budgetCap: number | null = null;

  /** Opens the run's metrics.jsonl and TensorBoard file for a session starting at `start`. */
  static async open(parts: SessionParts, start: SessionStart): Promise<TrainingSession> {
    return new TrainingSession(parts, start, await parts.run.openMetrics(), await SummaryWriter.open(parts.run.dir));
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
    this.evaluations = state.validHistory.map(({ step, ...metrics }) => ({ step, metrics }));
    this.begin = {
      step: state.step,
      seconds: state.trainSeconds,
      tokens: state.tokensSeen,
      padded: state.paddedTokensSeen,
    };
    this.epoch = state.loader.epoch;
    this.latestStep = start.resumed ? state.step : null;
    // Fresh runs, and checkpoints of mlm-ts 0.1.0, start watching at their next step.
    this.lossWatch = state.lossWatch ??= { firstLoss: null, smoothedLoss: 0, warned: false };
  }

  /** Whether this session has done a training step. */
  get trained(): boolean {
    return this.state.step > this.begin.step;
  }

  /**
   * Trains until the schedule's last step, early stopping or `signal` (then after the current step,
   * or between two evaluation batches, with a latest checkpoint); evaluates whenever `evaluationDue`
   * (step 0 of a new run with evalAtStart, every evalSteps, the last step, and first of all a step
   * whose evaluation an interrupt cut short), and writes latest checkpoints as --save-steps and
   * --save-minutes ask.
   */
  async run(signal?: AbortSignal): Promise<SessionOutcome> {
    const { config, log, budget } = this.parts;
    let total = this.parts.schedule.totalSteps;
    const s = this.state;
    let stoppedBy: StopReason = "schedule";
    const bar = createProgress({ label: "train", total, silent: !config.progress });
    bar.update(s.step);
    // Signal handlers run only while the loop awaits: it gives the event loop a turn about every 50 ms.
    const pacer = new Pacer();
    // With a time budget: the evaluations' longest time and the steps' pace, for the plans.
    let evalMs: number | null = null;
    const pace = budget === null ? null : new StepPace(budget.clock, s.step);
    let replanEveryMs: number | null = null;
    let nextPlanAt = Infinity;
    /** Runs an evaluation or a checkpoint, leaving its time out of the steps' pace. */
    const timedAside = async <T>(work: () => Promise<T>, isEvaluation: boolean): Promise<T> => {
      if (budget === null || pace === null) return work();
      const t0 = budget.clock();
      const result = await work();
      const ms = budget.clock() - t0;
      pace.exclude(ms);
      if (isEvaluation) evalMs = Math.max(evalMs ?? 0, ms);
      return result;
    };
    try {
      if (evaluationDue(s, config, total)) {
        if (await timedAside(() => this.evaluateAndCheckpoint(signal), true)) stoppedBy = "early-stopping";
        pace?.restart(s.step); // the steps are timed from here
      }
      while (stoppedBy === "schedule" && s.step < total) {
        if (pacer.due()) await pacer.pause();
        if (signal?.aborted) {
          stoppedBy = "signal";
          break;
        }
        const figures = this.step();
        if (budget !== null && pace !== null) {
          const first = !this.budgetFixed && pace.stepsTimed(s.step) === TIMING_STEPS;
          if (first || (this.budgetFixed && budget.clock() >= nextPlanAt)) {
            const now = budget.clock();
            replanEveryMs ??= (budget.deadline - now) / REPLANS;
            nextPlanAt = now + replanEveryMs;
            total = await this.planBudget(budget, pace.msPerStep(s.step), evalMs, first);
            bar.setTotal(total);
          }
        }
        const seconds = Math.max(1e-9, s.trainSeconds - this.begin.seconds);
        const tokensPerSec = (s.tokensSeen - this.begin.tokens) / seconds;
        if (s.step % config.logSteps === 0)
          this.logTraining(figures, tokensPerSec, (s.paddedTokensSeen - this.begin.padded) / seconds);
        if (evaluationDue(s, config, total)) {
          if (await timedAside(() => this.evaluateAndCheckpoint(signal), true)) stoppedBy = "early-stopping";
        } else if (this.saveDue()) {
          await timedAside(() => this.saveLatest(), false);
        }
        const lastValid = s.validHistory.at(-1)?.loss;
        const valid = lastValid === undefined ? "-" : lastValid.toFixed(3);
        bar.update(
          s.step,
          `epoch ${this.epoch + 1}/${this.parts.epochsReached} loss ${figures.loss.toFixed(3)} val ${valid} ${formatRate(tokensPerSec)} tok/s`,
        );
      }
    } catch (err) {
      // An evaluation cut short by the signal records nothing: the resumed run does it first.
      if (!(signal?.aborted && err === signal.reason)) throw err;
      stoppedBy = "signal";
    } finally {
      bar.stop();
    }
    if (this.latestStep !== s.step) await this.saveLatest();
    if (stoppedBy === "early-stopping")
      log(`early stopping: ${s.evalsWithoutImprovement} evaluations without improvement`);
    return this.outcome(stoppedBy);
  }

  /**
   * Plans the run's number of steps for its time budget from the measured step and evaluation times
   * (an evaluation not yet timed is estimated as forward passes over the validation batches, a third
   * of a step each, doubled for its checkpoint): sets the schedule's end and records it when it moved,
   * returns it. The first plan is logged; a later one when it moves the end by 2% or more.
   */
  private async planBudget(
    budget: TimeBudget,
    msPerStep: number,
    evalMs: number | null,
    first: boolean,
  ): Promise<number> {
    const { config, schedule, validLoader, trainLoader, log } = this.parts;
    this.budgetFixed = true;
    this.budgetCap ??= schedule.totalSteps;
    const before = schedule.totalSteps;
    const steps = planBudgetSteps({
      remainingMs: budget.deadline - budget.clock(),
      stepsDone: this.state.step,
      msPerStep,
      evalMs: evalMs ?? (2 * msPerStep * validLoader.batchesPerEpoch) / 3,
      evalSteps: config.evalSteps,
      maxSteps: this.budgetCap,
    });
    if (!first && steps === before) return steps;
    schedule.totalSteps = steps;
    this.parts.epochsReached = Math.ceil((steps * config.gradAccumSteps) / trainLoader.batchesPerEpoch);
    await budget.fix(steps);
    if (first)
      log(
        `time budget ${config.timeBudget}: ${msPerStep.toFixed(1)} ms per step over ${TIMING_STEPS} steps, ` +
          `so ${steps} steps in all (recorded in config.json as budgetSteps)`,
      );
    else if (Math.abs(steps - before) >= 0.02 * before)
      log(
        `time budget ${config.timeBudget}: ${msPerStep.toFixed(1)} ms per step at step ${this.state.step}, so ${steps} steps in all`,
      );
    return steps;
  }

  /** Closes the TensorBoard and metrics files (what was logged stays on disk, also after an error). */
  async close(): Promise<void> {
    await this.writer.close();
    await this.metrics.close();
  }

  /**
   * One optimizer step over `gradAccumSteps` batches (accumulated by the model, weighted by their
   * masked tokens); updates the state's counters. A NaN or infinite loss or gradient norm throws a
   * NonFiniteError naming the step and the first tensor that went bad, before the parameters change.
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
    const step = s.step + 1;
    const grads = model.grads;
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
    s.step = step;
    s.trainSeconds += (performance.now() - t0) / 1000;
    s.lossSinceLog += loss;
    s.stepsSinceLog++;
    const warning = observeLoss(this.lossWatch, step, loss);
    if (warning !== null) {
      this.parts.warn(`warning: ${warning}`);
      this.metrics.log(step, { warning: "divergence", message: warning });
    }
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
    if (!stderrIsTerminal())
      this.parts.log(
        `step ${s.step}: training loss ${mean.toFixed(4)} (mean of the last ${s.stepsSinceLog} steps), lr ` +
          `${figures.lr.toExponential(2)}, ${formatRate(tokensPerSec)} tokens/s`,
      );
    s.lossSinceLog = 0;
    s.stepsSinceLog = 0;
  }

  /** Scores the whole validation split (fixed masks) and records it. */
  private async evaluate(signal?: AbortSignal): Promise<EvalMetrics> {
    const { config, model, validLoader, log } = this.parts;
    const { writer, metrics } = this;
    const t0 = Date.now();
    const result = await evaluateSplit(model, validLoader, {
      fullHead: config.fullHead,
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
    await writeCurvesSvg(this.parts.run.dir, this.parts.run.storage); // curves.svg, the run's picture
    this.evaluations.push({ step, metrics: result });
    this.state.validHistory.push({ step, ...result });
    log(
      `step ${step}: validation loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(1)}, accuracy ` +
        `${pct(result.accuracy)} (top-5 ${pct(result.top5)}) [${Date.now() - t0} ms]`,
    );
    return result;
  }

  /** Evaluates, keeps the best checkpoint and the latest ones; true when early stopping fires. */
  private async evaluateAndCheckpoint(signal?: AbortSignal): Promise<boolean> {
    const { config, run, log } = this.parts;
    const s = this.state;
    const { loss } = await this.evaluate(signal);
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
    this.lastSave = performance.now();
    if (config.keepLast === 0) return;
    await this.checkpoint(run.lastDir(this.state.step));
    await run.pruneLastCheckpoints(config.keepLast);
    this.latestStep = this.state.step;
  }

  /** Whether --save-steps or --save-minutes asks for a latest checkpoint at this step. */
  private saveDue(): boolean {
    const { saveSteps, saveMinutes } = this.parts.config;
    const step = this.state.step;
    if (this.latestStep === step) return false;
    return (
      (saveSteps > 0 && step % saveSteps === 0) ||
      (saveMinutes > 0 && performance.now() - this.lastSave >= saveMinutes * 60_000)
    );
  }

  /**
   * Everything needed to resume exactly: weights, Adam moments, loader position, generators. The Adam
   * moments (twice the weights' size) only where a resume reads them (`last-*`), unless `withOptimizer` is false.
   */
  private async checkpoint(dir: string, withOptimizer = true): Promise<void> {
    const { config, run, model, adam, tokenizer, trainLoader } = this.parts;
    // Weights that are not all finite are never written (a NonFiniteError names the first bad one).
    if (this.finiteStep !== this.state.step) {
      checkFiniteParams(this.state.step, model.specs, model.params);
      this.finiteStep = this.state.step;
    }
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
      latestCheckpoint: this.latestStep === null ? null : this.parts.run.lastDir(this.latestStep),
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
