/**
 * The training loop, for any task (task.ts):
 *
 *   while (step < total) { batches; forward/backward; clip and update at the step's learning rate;
 *                          log; maybe evaluate and checkpoint }
 *
 * with the time budget (time-budget.ts), the health checks (health.ts), the outputs (outputs.ts) and
 * the checkpoints (checkpoints.ts) as helpers it calls. The loop owns the training state (what a
 * checkpoint saves, train-state.ts) and is the only code that changes it; trainer.ts sets everything
 * up and hands it over. It stops after the schedule's last step, when early stopping fires, or after
 * the current step (or between two evaluation batches) once `signal` is aborted, always leaving a
 * latest checkpoint to resume from.
 *
 * @example
 *   const outcome = await trainLoop({ config, run, task, adam, start, totalSteps, budget: null, outputs });
 */
import type { TrainConfig } from "../config/index.js";
import type { RunDirectory } from "../run/index.js";
import { Pacer } from "../util/cooperative.js";
import { createProgress } from "../util/progress.js";
import type { Rng } from "../util/rng.js";
import { CheckpointSaver } from "./checkpoints.js";
import { diagnoseNonFinite, observeLoss, type LossWatchState } from "./health.js";
import { NonFiniteGradientError, type Adam } from "./optimizer.js";
import { gpuUpdate, webGpuOf } from "./gpu-step.js";
import { formatRate, type RunOutputs } from "./outputs.js";
import { learningRateAt } from "./schedule.js";
import type { BestMetric, TaskMetrics, TrainableModel, TrainingTask } from "./task.js";
import { BudgetPlanner, type TimeBudget } from "./time-budget.js";
import type { TrainState } from "./train-state.js";

/** Where the loop starts: a fresh state (step 0) or a checkpoint's, and the dropout generator. */
export interface LoopStart<M> {
  /** The loop's state from here on (with its divergence watch); nothing else changes it. */
  state: TrainState<M> & { lossWatch: LossWatchState };
  dropoutRng: Rng;
  /** Continued from a checkpoint (whose step is then the latest checkpoint's). */
  resumed: boolean;
}

/** Everything the loop runs with; trainer.ts builds it. */
export interface LoopInputs<B, M extends TaskMetrics<M>> {
  config: TrainConfig;
  run: RunDirectory;
  task: TrainingTask<B, M>;
  adam: Adam;
  start: LoopStart<M>;
  /** The steps of the learning-rate schedule, where the loop ends (a time budget may move it). */
  totalSteps: number;
  /** A deadline whose number of steps is not fixed yet, or null. */
  budget: TimeBudget | null;
  outputs: RunOutputs;
  signal?: AbortSignal;
}

/**
 * Why the loop ended; "complete": a resumed run had nothing left to do (its last step done and
 * evaluated, or early stopping fired), so nothing was run or written (trainer.ts).
 */
export type StopReason = "schedule" | "early-stopping" | "signal" | "complete";

/** What the loop reached. */
export interface LoopOutcome<M> {
  steps: number;
  epochs: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  /** Every evaluation of the run: step and metrics. */
  evaluations: { step: number; metrics: M }[];
  /** Mean training step time of this session (evaluations excluded), in ms. */
  msPerStep: number;
  /** Real (non-padding) tokens per second of training in this session. */
  tokensPerSecond: number;
  /** The newest latest checkpoint, the one --resume continues from (null: none, with --keep-last 0). */
  latestCheckpoint: string | null;
  stoppedBy: StopReason;
}

/** Trains until the schedule's end, early stopping or the signal; see the module comment. */
export async function trainLoop<B, M extends TaskMetrics<M>>(inputs: LoopInputs<B, M>): Promise<LoopOutcome<M>> {
  const { config, run, task, adam, outputs, signal, budget } = inputs;
  const { state, dropoutRng } = inputs.start;
  const begin = {
    step: state.step,
    seconds: state.trainSeconds,
    tokens: state.tokensSeen,
    padded: state.paddedTokensSeen,
  };
  let total = inputs.totalSteps;
  let epoch = state.loader.epoch; // of the latest training batch
  const saver = new CheckpointSaver({ config, run, task, adam }, inputs.start.resumed ? state.step : null);
  const planner =
    budget === null
      ? null
      : new BudgetPlanner(budget, { ...config, step: state.step, validBatches: task.validBatches });
  /** An evaluation or a checkpoint: the time budget leaves its time out of the steps' pace. */
  const aside = <T>(work: () => Promise<T>, isEvaluation: boolean): Promise<T> =>
    planner === null ? work() : planner.aside(work, isEvaluation);
  /** The state as a checkpoint saves it: with the loader's position and the dropout generator's. */
  const snapshot = (): TrainState<M> => ({ ...state, loader: task.train.position(), dropoutRng: dropoutRng.state() });

  /** Evaluates, keeps the best checkpoint and the latest ones; true when early stopping fires. */
  const evaluateAndCheckpoint = async (): Promise<boolean> => {
    const startedAt = Date.now();
    const metrics = await task.evaluate(signal);
    await outputs.evaluation(state.step, metrics, task.scalars(metrics), task.describe(metrics), startedAt);
    state.validHistory.push({ step: state.step, ...metrics });
    if (isBetter(metrics, bestValue(state, task.best), task.best)) {
      state.bestValidLoss = metrics.loss;
      state.bestStep = state.step;
      state.evalsWithoutImprovement = 0;
      await saver.saveBest(snapshot());
      outputs.log(`step ${state.step}: new best validation ${task.best.metric}, checkpoint saved to ${run.bestDir}`);
    } else {
      state.evalsWithoutImprovement++;
    }
    await saver.saveLatest(snapshot());
    return config.earlyStopping > 0 && state.evalsWithoutImprovement >= config.earlyStopping;
  };

  // WebGPU: the step ends on the GPU (gpu-step.ts), with the decay mask Adam was made with.
  const gpu = webGpuOf(task.backend);
  const decayMask = gpu !== null && config.weightDecay > 0 ? task.model.decayMask() : null;
  let stoppedBy: StopReason = "schedule";
  const bar = createProgress({ label: "train", total, silent: !config.progress });
  bar.update(state.step);
  // Signal handlers run only while the loop awaits: it gives the event loop a turn about every 50 ms.
  const pacer = new Pacer();
  try {
    if (evaluationDue(state, config, total)) {
      if (await aside(evaluateAndCheckpoint, true)) stoppedBy = "early-stopping";
      planner?.restart(state.step); // the steps are timed from here
    }
    while (stoppedBy === "schedule" && state.step < total) {
      if (pacer.due()) await pacer.pause();
      if (signal?.aborted) {
        stoppedBy = "signal";
        break;
      }
      const t0 = performance.now();
      // batches; forward/backward: gradAccumSteps batches, their gradients accumulated by the task
      for (let micro = 0; micro < config.gradAccumSteps; micro++) {
        const next = task.train.next();
        epoch = next.epoch;
        const counted = task.forwardBackward(next.batch, dropoutRng);
        state.tokensSeen += counted.tokens;
        state.paddedTokensSeen += counted.paddedTokens;
      }
      const accumulated = task.endAccumulation();
      const step = state.step + 1;
      // clip and update at the step's learning rate (a non-finite loss or gradient stops the run first)
      const learningRate = learningRateAt(step, config, total);
      const { loss, gradNorm } =
        gpu === null
          ? { loss: accumulated.loss, gradNorm: update(step, accumulated.loss, learningRate, task.model, adam) }
          : await gpuUpdate(gpu, step, accumulated.count, learningRate, task.model, adam, decayMask);
      state.step = step;
      state.trainSeconds += (performance.now() - t0) / 1000;
      state.lossSinceLog += loss;
      state.stepsSinceLog++;
      const warning = observeLoss(state.lossWatch, step, loss);
      if (warning !== null) outputs.warn(step, "divergence", warning);
      // a time budget plans the number of steps after its first timed steps, then again as the pace drifts
      const plan = planner === null ? null : await planner.afterStep(step, total);
      if (plan !== null) {
        if (plan.message !== null) outputs.log(plan.message);
        total = plan.totalSteps;
        bar.setTotal(total);
      }
      // log: the mean training loss since the last log; throughput over this session
      const seconds = Math.max(1e-9, state.trainSeconds - begin.seconds);
      const tokensPerSec = (state.tokensSeen - begin.tokens) / seconds;
      if (step % config.logSteps === 0) {
        const paddedPerSec = (state.paddedTokensSeen - begin.padded) / seconds;
        const meanLoss = state.lossSinceLog / state.stepsSinceLog;
        const steps = state.stepsSinceLog;
        outputs.trainingLog(step, {
          loss: meanLoss,
          steps,
          learningRate,
          gradNorm,
          epoch: epoch + 1,
          tokensPerSec,
          paddedPerSec,
        });
        state.lossSinceLog = 0;
        state.stepsSinceLog = 0;
      }
      // maybe evaluate (and checkpoint), or write a latest checkpoint when --save-steps/--save-minutes ask
      if (evaluationDue(state, config, total)) {
        if (await aside(evaluateAndCheckpoint, true)) stoppedBy = "early-stopping";
      } else if (saver.saveDue(step)) {
        await aside(() => saver.saveLatest(snapshot()), false);
      }
      const valid = state.validHistory.at(-1)?.loss;
      const epochs = Math.ceil((total * config.gradAccumSteps) / task.train.batchesPerEpoch);
      bar.update(
        step,
        `epoch ${epoch + 1}/${epochs} loss ${loss.toFixed(3)} val ${valid === undefined ? "-" : valid.toFixed(3)} ${formatRate(tokensPerSec)} tok/s`,
      );
    }
  } catch (err) {
    // An evaluation cut short by the signal records nothing: the resumed run does it first.
    if (!(signal?.aborted && err === signal.reason)) throw err;
    stoppedBy = "signal";
  } finally {
    bar.stop();
  }
  if (saver.latestStep !== state.step) await saver.saveLatest(snapshot());
  if (stoppedBy === "early-stopping")
    outputs.log(`early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);
  const stepsRun = state.step - begin.step;
  const secondsRun = state.trainSeconds - begin.seconds;
  return {
    steps: state.step,
    epochs: epoch + 1,
    bestValidLoss: state.bestValidLoss,
    bestStep: state.bestStep,
    evaluations: evaluationsOf(state),
    msPerStep: stepsRun > 0 ? (1000 * secondsRun) / stepsRun : Number.NaN,
    tokensPerSecond: secondsRun > 0 ? (state.tokensSeen - begin.tokens) / secondsRun : Number.NaN,
    latestCheckpoint: saver.latestStep === null ? null : run.lastDir(saver.latestStep),
    stoppedBy,
  };
}

/**
 * Clips the gradients and applies Adam at `learningRate`; returns the gradient norm before clipping.
 * A NaN or infinite loss or gradient norm throws a NonFiniteError naming the step and the first
 * tensor that went bad, before the parameters change.
 */
function update(step: number, loss: number, learningRate: number, model: TrainableModel, adam: Adam): number {
  const { specs, params, grads } = model;
  if (!Number.isFinite(loss)) throw diagnoseNonFinite(step, loss, null, specs, params, grads);
  try {
    return adam.update(params, grads, learningRate).gradNorm;
  } catch (err) {
    if (err instanceof NonFiniteGradientError) throw diagnoseNonFinite(step, loss, err.gradNorm, specs, params, grads);
    throw err;
  }
}

/**
 * Whether the evaluation of the state's step is due and not yet recorded: at step 0 with
 * evalAtStart, every evalSteps steps and at the last step. A run interrupted during an evaluation
 * saves its checkpoint without it, so its resumed run evaluates first.
 */
export function evaluationDue<M>(state: TrainState<M>, config: TrainConfig, totalSteps: number): boolean {
  const step = state.step;
  if (state.validHistory.at(-1)?.step === step) return false;
  return step === 0 ? config.evalAtStart : step % config.evalSteps === 0 || step === totalSteps;
}

/**
 * The best value so far of the task's selecting metric (null: none yet). The loss's is the state's
 * bestValidLoss (which train_state.json has always held, and `mlm runs` reads); another metric's is
 * read from the evaluation at bestStep.
 */
function bestValue<M extends TaskMetrics<M>>(state: TrainState<M>, best: BestMetric<M>): number | null {
  if (best.metric === "loss") return state.bestValidLoss;
  const entry = state.validHistory.find((e) => e.step === state.bestStep);
  // a NaN metric of a resumed run's history reads back as null (JSON), as bestValidLoss does
  return entry === undefined ? null : entry[best.metric];
}

/** Whether `metrics` beat the best value (a NaN never beats one, and is never beaten: as `<` does). */
function isBetter<M extends TaskMetrics<M>>(metrics: M, bestSoFar: number | null, best: BestMetric<M>): boolean {
  if (bestSoFar === null) return true;
  const value = metrics[best.metric] as number;
  return best.better === "lower" ? value < bestSoFar : value > bestSoFar;
}

/** The run's evaluations as step and metrics. */
export function evaluationsOf<M>(state: TrainState<M>): { step: number; metrics: M }[] {
  return state.validHistory.map(({ step, ...metrics }) => ({ step, metrics: metrics as unknown as M }));
}
