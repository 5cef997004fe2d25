/**
 * `train`: a run of the training loop from start to end, set up in one place. In order: the run
 * directory (its path derived once), its lock and checks (open-run.ts), the task's data, the
 * checkpoint a resumed run continues from, the task's model, the optimizer, the state, the outputs;
 * then the loop (loop.ts), then the run's status. The tutorial's run is the masked language model
 * task (mlm-task.ts); `trainTask` runs any task (task.ts) the same way.
 *
 * @example
 *   import { resolveConfig } from "mlm-ts/config";
 *   const summary = await train(resolveConfig({ maxSteps: 300 }));
 *   console.log(summary.bestValidLoss, summary.runDir);
 */
import { DEFAULT_CONFIG, type TrainConfig } from "../config/index.js";
import type { Backend } from "../engine/backend.js";
import { createBackend } from "../engine/create.js";
import type { InMemoryCorpus } from "../data/index.js";
import type { EvalMetrics } from "../model/index.js";
import { CHECKPOINT_FILES, fromCheckpointFile, loadCheckpoint, newRunDir, RunDirectory } from "../run/index.js";
import type { Checkpoint } from "../run/index.js";
import { parseDuration } from "../util/duration.js";
import { formatSeconds, printLine } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import { NonFiniteError } from "./health.js";
import { evaluationDue, evaluationsOf, trainLoop, type LoopOutcome, type LoopStart } from "./loop.js";
import { mlmTask } from "./mlm-task.js";
import { openRun } from "./open-run.js";
import { adamFor, type Adam } from "./optimizer.js";
import { formatRate, RunOutputs } from "./outputs.js";
import type { PreparedTask, TaskKind, TaskMetrics, TrainingTask } from "./task.js";
import type { TimeBudget } from "./time-budget.js";
import { parseTrainState, type StateMetricKeys, type TrainState } from "./train-state.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";

export { NonFiniteError };

/** How `train` runs, beyond the configuration. */
export interface TrainOptions {
  /** Continue the run in this directory from its latest checkpoint (its config.json is used). */
  resume?: string;
  /** Start afresh in a directory that already holds a run, deleting the old run's files (see open-run.ts). */
  force?: boolean;
  /** Where progress messages go; default stderr when config.progress, else nowhere. */
  log?: (line: string) => void;
  /** Where warnings go (a diverging loss); default stderr, whatever config.progress. */
  warn?: (line: string) => void;
  /** Stops the loop cleanly (after the current step, with a latest checkpoint) when aborted. */
  signal?: AbortSignal;
  /** A backend to use instead of creating one (it is not disposed). */
  backend?: Backend;
  /**
   * The clock of `config.timeBudget` (ms; default Date.now), and when the budget started on it
   * (default: when `train` is called; the CLI gives the process's start).
   */
  clock?: () => number;
  startedAt?: number;
  /** The corpus's sentences, already in memory (a browser tab's), instead of reading config.data (textCorpus). */
  corpus?: InMemoryCorpus;
  /**
   * A fine-tuning run's labelled files, already in memory (a browser tab's), by the names config.data
   * and the validation file give, instead of reading them from disk (finetune.ts).
   */
  labelled?: Readonly<Record<string, string | Uint8Array>>;
}

/** What a run of a task reached (the CLI prints the masked language model's with `describeSummary`). */
export type TaskSummary<M> = LoopOutcome<M> & {
  runDir: string;
  wallSeconds: number;
  /** For a run found complete: the setting that ends it (raise it to train further), e.g. "--epochs". */
  endedBy?: string;
};

/** What a run of the masked language model reached. */
export type TrainSummary = TaskSummary<EvalMetrics>;

/**
 * Trains a masked language model as configured; see the module comment. The run directory is locked
 * while it trains (a second trainer is refused), and a new run refuses a directory holding one unless
 * `options.force` (open-run.ts). A new run that fails before its first step (a mistyped corpus path,
 * a bad tokenizer) removes the folders it made, so that no empty or half-made run directory is left.
 */
export function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  return trainTask(mlmTask, config, options);
}

/** `train` for any task (task.ts): the same run directory, checkpoints, outputs and loop. */
export async function trainTask<C extends TrainConfig, D extends PreparedTask, B, M extends TaskMetrics<M>>(
  kind: TaskKind<C, D, B, M>,
  config: C,
  options: TrainOptions = {},
): Promise<TaskSummary<M>> {
  const missing = Object.keys(DEFAULT_CONFIG).filter((key) => !(key in config));
  if (missing.length > 0)
    throw new Error(
      `train: the configuration lacks ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? `, ... (${missing.length} keys)` : ""}; ` +
        `pass resolveConfig({ ... }), which checks the given keys and fills in the others`,
    );
  // A time budget counts from here unless the caller says when it started (the CLI: the process's start).
  const clock = options.clock ?? Date.now;
  options = { ...options, clock, startedAt: options.startedAt ?? clock() };
  const log = options.log ?? (config.progress ? (line: string) => printLine(line) : () => {});
  // WebGPU may be missing (no adapter; in Node, no `webgpu` package): it is opened before the run
  // directory, so that its absence (a WebGpuUnavailableError saying why) writes nothing.
  const gpu = options.backend === undefined && config.backend === "webgpu" ? await createBackend("webgpu", 1) : null;
  try {
    return await trainInDirectory(kind, config, gpu === null ? options : { ...options, backend: gpu }, log);
  } finally {
    gpu?.dispose();
  }
}

/** `trainTask` from the run directory on: a new run that fails before its first step removes what it made. */
async function trainInDirectory<C extends TrainConfig, D extends PreparedTask, B, M extends TaskMetrics<M>>(
  kind: TaskKind<C, D, B, M>,
  config: C,
  options: TrainOptions,
  log: (line: string) => void,
): Promise<TaskSummary<M>> {
  // The run directory's path, derived once: a default name holds the second it is derived in (and a
  // suffix when a run of that second has it).
  const run = new RunDirectory(options.resume ?? config.outDir ?? (await newRunDir()));
  const made = options.resume === undefined ? await firstMissingFolder(run) : null;
  const progress = { trained: false };
  try {
    const opened = await openRun(run, config, options, log);
    try {
      return await trainIn(kind, config, { ...opened, run }, options, log, progress);
    } finally {
      await opened.lock.release();
    }
  } catch (err) {
    // Best effort: the error that stopped the run is the one to report, not a failed clean-up.
    if (made !== null && !progress.trained) await run.storage.remove(made).catch(() => {});
    throw err;
  }
}

/** The run in its locked directory, from its data to its status; `progress.trained` once a step ran. */
async function trainIn<C extends TrainConfig, D extends PreparedTask, B, M extends TaskMetrics<M>>(
  kind: TaskKind<C, D, B, M>,
  config: C,
  { run, resumeFrom, corpus }: { run: RunDirectory; resumeFrom: string | null; corpus: FileFingerprint | null },
  options: TrainOptions,
  log: (line: string) => void,
  progress: { trained: boolean },
): Promise<TaskSummary<M>> {
  const wallStart = Date.now();
  const { signal } = options;
  const warn = options.warn ?? ((line: string) => process.stderr.write(line + "\n"));
  log(`run directory: ${run.dir}`);
  // The data (a new run saves its tokenizer, config.json and inputs.json here), and the steps it makes.
  const newRun = resumeFrom === null ? { corpusFingerprint: corpus } : null;
  const data = await kind.prepare({ config, run, newRun, memoryCorpus: options.corpus, log, signal });
  const { steps: totalSteps, cap } = plannedSteps(config, data.trainBatchesPerEpoch);
  // The checkpoint a resumed run continues from (nothing to do when it is complete).
  const resumed = resumeFrom === null ? null : await readCheckpoint<M>(resumeFrom, kind.stateMetrics);
  if (resumed !== null && isComplete(resumed.checkpoint.state, config, totalSteps)) {
    const state = resumed.checkpoint.state;
    const endedBy = state.step >= totalSteps ? cap : "--early-stopping";
    return { ...completeSummary(run.dir, resumed, (Date.now() - wallStart) / 1000), endedBy };
  }
  // The model on its backend, with the checkpoint's or fresh weights.
  const modelFile = resumed === null ? "" : run.storage.path.join(resumed.dir, CHECKPOINT_FILES.model);
  const weights = resumed === null ? null : { tensors: resumed.checkpoint.tensors, file: modelFile };
  const task = await kind.build({ config, data, weights, backend: options.backend });
  // From here on the run records where it stands (status.json).
  let step = resumed?.checkpoint.state.step ?? 0;
  try {
    await run.writeStatus({ state: "running", step });
    const { backend } = task;
    log(
      `model: ${(task.model.numParams / 1e6).toFixed(2)}M parameters, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? "" : "s"})`,
    );
    const adam = adamFor(backend, task.model, config);
    const start = resumed === null ? freshStart(config, task) : await resumedStart(resumed, run, task, adam, log);
    const budget = timeBudgetOf(config, run, options);
    const outputs = await RunOutputs.open(run, { log, warn });
    try {
      const outcome = await trainLoop({ config, run, task, adam, start, totalSteps, budget, outputs, signal });
      await run.writeStatus({
        state: outcome.stoppedBy === "signal" ? "interrupted" : "finished",
        step: outcome.steps,
      });
      return { runDir: run.dir, ...outcome, wallSeconds: (Date.now() - wallStart) / 1000 };
    } finally {
      // where a failure's status says the run stopped, and whether it trained (then it is kept)
      progress.trained = start.state.step > step;
      step = start.state.step;
      await outputs.close();
    }
  } catch (err) {
    await recordFailure(run, step, err, signal, log);
    throw err;
  } finally {
    task.dispose();
  }
}

/**
 * The run's number of steps: its epochs of `batchesPerEpoch` batches in steps of gradAccumSteps
 * batches, capped by maxSteps, or the steps a time budget fixed (within that cap); and the flag of the
 * setting that gives that number (what to raise to train further).
 */
function plannedSteps(config: TrainConfig, batchesPerEpoch: number): { steps: number; cap: string } {
  const stepsPerEpoch = batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  let planned = { steps: scheduleSteps, cap: `--epochs (${config.epochs} epochs make ${scheduleSteps} steps)` };
  if (config.maxSteps > 0 && config.maxSteps < planned.steps) planned = { steps: config.maxSteps, cap: "--max-steps" };
  if (config.budgetSteps > 0 && config.budgetSteps < planned.steps)
    planned = { steps: config.budgetSteps, cap: `--budget-steps (fixed by --time-budget ${config.timeBudget})` };
  if (planned.steps < 1)
    throw new Error(
      `nothing to train: ${config.epochs} epochs of ${batchesPerEpoch} batches make no step of ${config.gradAccumSteps} accumulated batches`,
    );
  return planned;
}

/**
 * Records in status.json how a started run ended on an error: "interrupted" when it is the signal's
 * reason, else "failed" with the message (a non-finite number's message also names the checkpoint
 * kept). A status that cannot be written is logged, so that the original error is the one reported.
 */
async function recordFailure(
  run: RunDirectory,
  step: number,
  err: unknown,
  signal: AbortSignal | undefined,
  log: (line: string) => void,
): Promise<void> {
  try {
    if (signal?.aborted && err === signal.reason) {
      await run.writeStatus({ state: "interrupted", step });
      return;
    }
    if (err instanceof NonFiniteError) {
      const latest = await run.latestCheckpoint();
      err.message += `; the run stopped${latest === null ? "" : ` and its latest checkpoint, ${latest}, is kept`}`;
    }
    await run.writeStatus({ state: "failed", step, message: err instanceof Error ? err.message : String(err) });
  } catch (statusError) {
    log(`cannot record the run's status in status.json: ${(statusError as Error).message}`);
  }
}

/**
 * The run's deadline when it has a time budget whose steps are not fixed yet (a resumed run keeps the
 * budgetSteps of its config.json); fixing them rewrites config.json. The budget counts from
 * `options.startedAt` (default: now) on `options.clock` (default Date.now).
 */
function timeBudgetOf(config: TrainConfig, run: RunDirectory, options: TrainOptions): TimeBudget | null {
  if (config.timeBudget === null || config.budgetSteps > 0) return null;
  const seconds = parseDuration(config.timeBudget);
  if (seconds === null)
    throw new Error(`train: timeBudget "${config.timeBudget}" is not a duration (resolveConfig checks durations)`);
  const clock = options.clock ?? Date.now;
  return {
    deadline: (options.startedAt ?? clock()) + seconds * 1000,
    clock,
    fix: (steps) => run.writeConfig({ ...config, budgetSteps: steps }),
  };
}

/** Whether a resumed run has nothing left to do: its last step done and evaluated, or early stopping fired. */
function isComplete<M>(state: TrainState<M>, config: TrainConfig, totalSteps: number): boolean {
  if (evaluationDue(state, config, totalSteps)) return false;
  return (
    state.step >= totalSteps || (config.earlyStopping > 0 && state.evalsWithoutImprovement >= config.earlyStopping)
  );
}

/** The summary of a resumed run that was already complete (nothing ran). */
function completeSummary<M>(runDir: string, resumed: ResumePoint<M>, wallSeconds: number): TaskSummary<M> {
  const state = resumed.checkpoint.state;
  return {
    runDir,
    steps: state.step,
    epochs: state.loader.epoch + 1,
    bestValidLoss: state.bestValidLoss,
    bestStep: state.bestStep,
    evaluations: evaluationsOf(state),
    msPerStep: Number.NaN,
    tokensPerSecond: Number.NaN,
    wallSeconds,
    latestCheckpoint: resumed.dir,
    stoppedBy: "complete",
  };
}

/** The checkpoint a resumed run continues from, and its directory. */
interface ResumePoint<M> {
  dir: string;
  checkpoint: Checkpoint<TrainConfig, TrainState<M>>;
}

/** The outermost folder of the run's path that does not exist yet (null: the run directory exists). */
async function firstMissingFolder(run: RunDirectory): Promise<string | null> {
  const { path } = run.storage;
  let missing: string | null = null;
  try {
    for (let dir = run.dir; (await run.storage.stat(dir)) === null; dir = path.dirname(dir)) missing = dir;
  } catch {
    return null; // an unreadable parent: the lock reports it; nothing of ours to remove
  }
  return missing;
}

/** The latest checkpoint of a resumed run, after repairing what an interrupted save left. */
async function readCheckpoint<M>(dir: string, metrics: StateMetricKeys): Promise<ResumePoint<M>> {
  const parseState = (raw: Record<string, unknown>, source: string): TrainState<M> =>
    parseTrainState<M>(raw, source, metrics);
  return { dir, checkpoint: await loadCheckpoint<TrainConfig, TrainState<M>>(dir, { repair: true, parseState }) };
}

/** The state of a new run: step 0, the dropout generator from the seed. */
function freshStart<B, M extends TaskMetrics<M>>(config: TrainConfig, task: TrainingTask<B, M>): LoopStart<M> {
  const dropoutRng = Rng.derive(config.seed, "dropout");
  const state = {
    step: 0,
    loader: task.train.position(),
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
    kernels: task.backend.kernels,
    lossWatch: { firstLoss: null, smoothedLoss: 0, warned: false },
  };
  return { state, dropoutRng, resumed: false };
}

/**
 * The state of a resumed run: the checkpoint's, with the optimizer's moments, the loader's position
 * and the dropout generator restored, and the metrics logged after the checkpoint dropped.
 */
async function resumedStart<B, M extends TaskMetrics<M>>(
  resumed: ResumePoint<M>,
  run: RunDirectory,
  task: TrainingTask<B, M>,
  adam: Adam,
  log: (line: string) => void,
): Promise<LoopStart<M>> {
  const { dir, checkpoint } = resumed;
  const m = checkpoint.optimizer?.find((t) => t.name === "adam.m");
  const v = checkpoint.optimizer?.find((t) => t.name === "adam.v");
  if (!m || !v) throw new Error(`${dir}: optimizer.safetensors lacks adam.m / adam.v`);
  const saved = checkpoint.state;
  fromCheckpointFile(dir, "optimizer", () => adam.setState({ step: saved.step, m: m.data, v: v.data }));
  fromCheckpointFile(dir, "state", () => task.train.restore(saved.loader));
  const dropoutRng = Rng.fromState(saved.dropoutRng);
  await run.truncateMetrics(saved.step);
  log(
    `resumed from ${dir}: step ${saved.step}, epoch ${saved.loader.epoch + 1}, batch ${saved.loader.index} of ` +
      `${task.train.batchesPerEpoch} (the loader jumps there directly; data order, masks and dropout continue exactly)`,
  );
  const kernels = task.backend.kernels;
  if (saved.kernels !== undefined && saved.kernels !== kernels) {
    log(
      `note: the run was trained with ${saved.kernels} kernels, it continues with ${kernels}; losses may differ from an uninterrupted run in the last digits`,
    );
  }
  // Checkpoints of run format 0 have no divergence watch: it starts at the next step.
  const lossWatch = saved.lossWatch ?? { firstLoss: null, smoothedLoss: 0, warned: false };
  return { state: { ...saved, kernels, lossWatch }, dropoutRng, resumed: true };
}

/** One line for the end of a run. */
export function describeSummary(s: TaskSummary<unknown>): string {
  const best = s.bestValidLoss === null ? "none" : `${s.bestValidLoss.toFixed(4)} at step ${s.bestStep}`;
  if (s.stoppedBy === "complete")
    return (
      `already complete: ${s.runDir} is at step ${s.steps} (best validation loss ${best}); nothing was run or written ` +
      `(raise ${s.endedBy ?? "--max-steps, --epochs or --early-stopping"} to train further)`
    );
  const ms = Number.isFinite(s.msPerStep) ? s.msPerStep.toFixed(0) : "-";
  return (
    `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ` +
    `${ms} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`
  );
}

export type {
  BatchStream,
  BestMetric,
  BuildContext,
  PrepareContext,
  PreparedTask,
  TaskKind,
  TaskMetrics,
  TrainableModel,
  TrainingTask,
} from "./task.js";
export { mlmTask, type MlmData } from "./mlm-task.js";
