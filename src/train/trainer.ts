/**
 * The training loop of `mlm train`: the tutorial's loop (epochs of batches, an evaluation every
 * `evalSteps`, the training loss logged every `logSteps`, a checkpoint whenever the validation loss
 * improves), plus what users expect around it: a latest checkpoint to resume from, learning-rate
 * schedules, gradient accumulation, early stopping, TensorBoard and metrics.jsonl, progress bars.
 *
 * @example
 *   import { resolveConfig } from "mlm-ts/config";
 *   const summary = await train(resolveConfig({ maxSteps: 300 }));
 *   console.log(summary.bestValidLoss, summary.runDir);
 */
import type { TrainConfig } from "../config.js";
import type { Backend } from "../engine/backend.js";
import { prepareData, runLoaders, type InMemoryCorpus, type MlmDataLoader } from "../data/index.js";
import { buildModel, capacityFor, type BuiltModel } from "../model/index.js";
import { platform } from "../platform/index.js";
import {
  CHECKPOINT_FILES,
  defaultRunDir,
  fromCheckpointFile,
  loadCheckpoint,
  modelConfigFrom,
  RunDirectory,
  type Checkpoint,
} from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";
import { formatSeconds, printLine } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import { parseDuration } from "../util/duration.js";
import { NonFiniteError } from "./health.js";
import type { TimeBudget } from "./time-budget.js";
import { adamFor, type Adam } from "./optimizer.js";
import type { ScheduleOptions } from "./schedule.js";
import {
  evaluationDue,
  formatRate,
  initialState,
  TrainingSession,
  type SessionOutcome,
  type SessionStart,
} from "./session.js";
import { openRun, type OpenedRun } from "./open-run.js";
import { parseTrainState, type TrainState } from "./train-state.js";

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
}

/** What a run reached, returned by `train` (the CLI prints it with `describeSummary`). */
export interface TrainSummary extends SessionOutcome {
  runDir: string;
  wallSeconds: number;
}

/**
 * Trains a masked language model as configured; see the module comment. The run directory is locked
 * while it trains (a second trainer is refused), and a new run refuses a directory holding one unless
 * `options.force` (open-run.ts). A new run that fails before its first step (a mistyped corpus path,
 * a bad tokenizer) removes the folders it made, so that no empty or half-made run directory is left.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const clock = options.clock ?? Date.now;
  options = { ...options, clock, startedAt: options.startedAt ?? clock() };
  const log = options.log ?? (config.progress ? (line: string) => printLine(line) : () => {});
  const dir = new RunDirectory(options.resume ?? config.outDir ?? defaultRunDir());
  const made = options.resume === undefined ? await firstMissingFolder(dir) : null;
  const opened: { session?: TrainingSession } = {};
  try {
    const run = await openRun(config, options, log);
    try {
      return await trainIn(run, config, options, log, opened);
    } finally {
      await run.lock.release();
    }
  } catch (err) {
    // Best effort: the error that stopped the run is the one to report, not a failed clean-up.
    if (made !== null && opened.session?.trained !== true) await dir.storage.remove(made).catch(() => {});
    throw err;
  }
}

/** `train` in its locked run directory; `opened.session` is set once the session exists. */
async function trainIn(
  { run, resumeFrom, corpus }: OpenedRun,
  config: TrainConfig,
  options: TrainOptions,
  log: (line: string) => void,
  opened: { session?: TrainingSession },
): Promise<TrainSummary> {
  const wallStart = Date.now();
  const warn = options.warn ?? ((line: string) => process.stderr.write(line + "\n"));
  log(`run directory: ${run.dir}`);
  const data = await prepareRunData(config, run, resumeFrom === null ? { corpus } : null, log, options);
  const resumed = resumeFrom === null ? null : await readCheckpoint(resumeFrom);
  if (resumed !== null && isComplete(resumed.checkpoint.state, config, data.schedule.totalSteps))
    return completeSummary(run.dir, resumed, (Date.now() - wallStart) / 1000);
  const { model, backend, dispose } = await buildRunModel(config, data, resumed, options.backend);
  // From here on the run records where it stands (status.json).
  let step = resumed?.checkpoint.state.step ?? 0;
  try {
    await run.writeStatus({ state: "running", step });
    log(
      `model: ${(model.numParams / 1e6).toFixed(2)}M parameters, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? "" : "s"})`,
    );
    const adam = adamFor(backend, model, config);
    const start =
      resumed === null
        ? freshState(config, data.trainLoader, backend)
        : await restoredState(resumed, run, data.trainLoader, adam, backend, log);
    const budget = timeBudgetOf(config, run, options);
    const session = await TrainingSession.open({ config, run, model, adam, ...data, log, warn, budget }, start);
    opened.session = session;
    try {
      const outcome = await session.run(options.signal);
      const state = outcome.stoppedBy === "signal" ? "interrupted" : "finished";
      await run.writeStatus({ state, step: outcome.steps });
      return { runDir: run.dir, ...outcome, wallSeconds: (Date.now() - wallStart) / 1000 };
    } finally {
      step = session.state.step; // where a failure's status says the run stopped
      await session.close();
    }
  } catch (err) {
    await recordFailure(run, step, err, options.signal, log);
    throw err;
  } finally {
    dispose();
  }
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
 * budgetSteps of its config.json); fixing them rewrites config.json.
 */
function timeBudgetOf(config: TrainConfig, run: RunDirectory, options: TrainOptions): TimeBudget | null {
  if (config.timeBudget === null || config.budgetSteps > 0) return null;
  const seconds = parseDuration(config.timeBudget);
  const { clock, startedAt } = options;
  if (seconds === null || clock === undefined || startedAt === undefined)
    throw new Error(`train: timeBudget "${config.timeBudget}" without a clock (resolveConfig checks durations)`);
  return {
    deadline: startedAt + seconds * 1000,
    clock,
    fix: (steps) => run.writeConfig({ ...config, budgetSteps: steps }),
  };
}

/** Whether a resumed run has nothing left to do: its last step done and evaluated, or early stopping fired. */
function isComplete(state: TrainState, config: TrainConfig, totalSteps: number): boolean {
  if (evaluationDue(state, config, totalSteps)) return false;
  return (
    state.step >= totalSteps || (config.earlyStopping > 0 && state.evalsWithoutImprovement >= config.earlyStopping)
  );
}

/** The summary of a resumed run that was already complete (nothing ran). */
function completeSummary(runDir: string, resumed: ResumePoint, wallSeconds: number): TrainSummary {
  const state = resumed.checkpoint.state;
  return {
    runDir,
    steps: state.step,
    epochs: state.loader.epoch + 1,
    bestValidLoss: state.bestValidLoss,
    bestStep: state.bestStep,
    evaluations: state.validHistory.map(({ step, ...metrics }) => ({ step, metrics })),
    msPerStep: Number.NaN,
    tokensPerSecond: Number.NaN,
    wallSeconds,
    latestCheckpoint: resumed.dir,
    stoppedBy: "complete",
  };
}

/** A run's tokenizer and loaders, and the learning-rate schedule over its steps. */
interface RunData {
  tokenizer: Tokenizer;
  trainLoader: MlmDataLoader;
  validLoader: MlmDataLoader;
  schedule: ScheduleOptions;
  /** The epochs the run reaches (fewer than config.epochs when maxSteps ends it first), for the bar. */
  epochsReached: number;
}

/** The checkpoint a resumed run continues from, and its directory. */
interface ResumePoint {
  dir: string;
  checkpoint: Checkpoint<TrainConfig, TrainState>;
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

/**
 * Reads the corpus and tokenizes the splits (with the run's own tokenizer when resuming; a new run
 * saves its tokenizer and configuration first), makes the loaders and the schedule.
 */
async function prepareRunData(
  config: TrainConfig,
  run: RunDirectory,
  newRun: { corpus: FileFingerprint | null } | null,
  log: (line: string) => void,
  { signal, corpus }: TrainOptions,
): Promise<RunData> {
  const data = await prepareData(config, log, newRun === null ? await run.readTokenizer() : undefined, signal, corpus);
  const tokenizer = data.tokenizer;
  if (newRun !== null) {
    await run.writeTokenizer(tokenizer);
    await run.writeConfig(config);
    await run.writeInputs(newRun.corpus ?? data.fingerprint ?? null); // a streamed corpus's: from its pass
  }
  const { train: trainLoader, valid: validLoader } = runLoaders(config, tokenizer, data.train, data.valid);
  const stepsPerEpoch = trainLoader.batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  const cap = config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
  // a time budget that fixed the steps decides (they are within the cap); before that, the cap
  const totalSteps = config.budgetSteps > 0 ? Math.min(config.budgetSteps, cap) : cap;
  if (totalSteps < 1)
    throw new Error(
      `nothing to train: ${config.epochs} epochs of ${trainLoader.batchesPerEpoch} batches make no step of ${config.gradAccumSteps} accumulated batches`,
    );
  const schedule: ScheduleOptions = {
    peak: config.learningRate,
    schedule: config.lrSchedule,
    warmupSteps: config.warmupSteps,
    totalSteps,
  };
  const epochsReached = Math.ceil((totalSteps * config.gradAccumSteps) / trainLoader.batchesPerEpoch);
  return { tokenizer, trainLoader, validLoader, schedule, epochsReached };
}

/** The latest checkpoint of a resumed run, after repairing what an interrupted save left. */
async function readCheckpoint(dir: string): Promise<ResumePoint> {
  return {
    dir,
    checkpoint: await loadCheckpoint<TrainConfig, TrainState>(dir, { repair: true, parseState: parseTrainState }),
  };
}

/** The model on its backend: sized for both loaders' largest batches, with the checkpoint's or fresh weights. */
async function buildRunModel(
  config: TrainConfig,
  data: RunData,
  resumed: ResumePoint | null,
  backend: Backend | undefined,
): Promise<BuiltModel> {
  return buildModel({
    config: modelConfigFrom(config, data.tokenizer.vocabSize),
    capacity: { ...capacityFor([data.trainLoader, data.validLoader]), accumulate: config.gradAccumSteps > 1 },
    backend: backend ?? config.backend,
    threads: config.threads,
    weights: resumed?.checkpoint.tensors ?? Rng.derive(config.seed, "init"),
    weightsFile: resumed === null ? undefined : platform().storage.path.join(resumed.dir, CHECKPOINT_FILES.model),
  });
}

/** The state of a new run: step 0, the dropout generator from the seed. */
function freshState(config: TrainConfig, trainLoader: MlmDataLoader, backend: Backend): SessionStart {
  const dropoutRng = Rng.derive(config.seed, "dropout");
  const state = initialState(trainLoader, dropoutRng);
  state.kernels = backend.kernels;
  return { state, dropoutRng, resumed: false };
}

/**
 * The state of a resumed run: the checkpoint's, with the optimizer's moments, the loader's position
 * and the dropout generator restored, and the metrics logged after the checkpoint dropped.
 */
async function restoredState(
  resumed: ResumePoint,
  run: RunDirectory,
  trainLoader: MlmDataLoader,
  adam: Adam,
  backend: Backend,
  log: (line: string) => void,
): Promise<SessionStart> {
  const { dir, checkpoint } = resumed;
  const m = checkpoint.optimizer?.find((t) => t.name === "adam.m");
  const v = checkpoint.optimizer?.find((t) => t.name === "adam.v");
  if (!m || !v) throw new Error(`${dir}: optimizer.safetensors lacks adam.m / adam.v`);
  const state = checkpoint.state;
  fromCheckpointFile(dir, "optimizer", () => adam.setState({ step: state.step, m: m.data, v: v.data }));
  fromCheckpointFile(dir, "state", () => trainLoader.restore(state.loader));
  const dropoutRng = Rng.fromState(state.dropoutRng);
  await run.truncateMetrics(state.step);
  log(
    `resumed from ${dir}: step ${state.step}, epoch ${state.loader.epoch + 1}, batch ${state.loader.index} of ` +
      `${trainLoader.batchesPerEpoch} (the loader jumps there directly; data order, masks and dropout continue exactly)`,
  );
  const before = state.kernels;
  if (before !== undefined && before !== backend.kernels) {
    log(
      `note: the run was trained with ${before} kernels, it continues with ${backend.kernels}; losses may differ from an uninterrupted run in the last digits`,
    );
  }
  state.kernels = backend.kernels;
  return { state, dropoutRng, resumed: true };
}

/** One line for the end of a run. */
export function describeSummary(s: TrainSummary): string {
  const best = s.bestValidLoss === null ? "none" : `${s.bestValidLoss.toFixed(4)} at step ${s.bestStep}`;
  if (s.stoppedBy === "complete")
    return (
      `already complete: ${s.runDir} is at step ${s.steps} (best validation loss ${best}); nothing was run or written ` +
      `(raise --max-steps, --epochs or --early-stopping to train further)`
    );
  const ms = Number.isFinite(s.msPerStep) ? s.msPerStep.toFixed(0) : "-";
  return (
    `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ` +
    `${ms} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`
  );
}
