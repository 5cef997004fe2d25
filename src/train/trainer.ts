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
import { prepareData, runLoaders, type MlmDataLoader } from "../data/index.js";
import { buildModel, capacityFor, type BuiltModel } from "../model/index.js";
import { defaultRunDir, loadCheckpoint, modelConfigFrom, RunDirectory, type Checkpoint } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { formatSeconds, printLine } from "../util/progress.js";
import { Rng } from "../util/rng.js";
import { adamFor, type Adam } from "./optimizer.js";
import type { ScheduleOptions } from "./schedule.js";
import { formatRate, initialState, TrainingSession, type SessionOutcome, type SessionStart } from "./session.js";
import type { TrainState } from "./train-state.js";

/** How `train` runs, beyond the configuration. */
export interface TrainOptions {
  /** Continue the run in this directory from its latest checkpoint (its config.json is used). */
  resume?: string;
  /** Where progress messages go; default stderr when config.progress, else nowhere. */
  log?: (line: string) => void;
  /** Stops the loop cleanly (after the current step, with a latest checkpoint) when aborted. */
  signal?: AbortSignal;
  /** A backend to use instead of creating one (it is not disposed). */
  backend?: Backend;
}

/** What a run reached, returned by `train` (the CLI prints it with `describeSummary`). */
export interface TrainSummary extends SessionOutcome {
  runDir: string;
  wallSeconds: number;
}

/**
 * Trains a masked language model as configured; see the module comment. A new run that fails before
 * its first step (a mistyped corpus path, a bad tokenizer) removes the folders it made, so that no
 * empty or half-made run directory is left behind.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const run = new RunDirectory(options.resume ?? config.outDir ?? defaultRunDir());
  const made = options.resume === undefined ? await firstMissingFolder(run) : null;
  const opened: { session?: TrainingSession } = {};
  try {
    return await trainIn(run, config, options, opened);
  } catch (err) {
    if (made !== null && opened.session?.trained !== true) await run.storage.remove(made);
    throw err;
  }
}

/** `train` in its run directory; `opened.session` is set once the session exists. */
async function trainIn(
  run: RunDirectory,
  config: TrainConfig,
  options: TrainOptions,
  opened: { session?: TrainingSession },
): Promise<TrainSummary> {
  const wallStart = Date.now();
  const log = options.log ?? (config.progress ? (line: string) => printLine(line) : () => {});
  const resumeFrom = options.resume === undefined ? null : await latestCheckpoint(run);
  log(`run directory: ${run.dir}`);
  const data = await prepareRunData(config, run, resumeFrom !== null, log);
  const resumed = resumeFrom === null ? null : await readCheckpoint(resumeFrom);
  const { model, backend, dispose } = await buildRunModel(config, data, resumed, options.backend, log);
  try {
    const adam = adamFor(backend, model, config);
    const start =
      resumed === null
        ? freshState(config, data.trainLoader, backend)
        : await restoredState(resumed, run, data.trainLoader, adam, backend, log);
    const session = await TrainingSession.open({ config, run, model, adam, ...data, log }, start);
    opened.session = session;
    try {
      const outcome = await session.run(options.signal);
      return { runDir: run.dir, ...outcome, wallSeconds: (Date.now() - wallStart) / 1000 };
    } finally {
      await session.close();
    }
  } finally {
    dispose();
  }
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
  for (let dir = run.dir; (await run.storage.stat(dir)) === null; dir = path.dirname(dir)) missing = dir;
  return missing;
}

/**
 * Reads the corpus and tokenizes the splits (with the run's own tokenizer when resuming; a new run
 * saves its tokenizer and configuration first), makes the loaders and the schedule.
 */
async function prepareRunData(
  config: TrainConfig,
  run: RunDirectory,
  resuming: boolean,
  log: (line: string) => void,
): Promise<RunData> {
  const data = await prepareData(config, log, resuming ? await run.readTokenizer() : undefined);
  const tokenizer = data.tokenizer;
  if (!resuming) {
    await run.writeTokenizer(tokenizer);
    await run.writeConfig(config);
  }
  const { train: trainLoader, valid: validLoader } = runLoaders(config, tokenizer, data.train, data.valid);
  const stepsPerEpoch = trainLoader.batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  const totalSteps = config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
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
  return { dir, checkpoint: await loadCheckpoint<TrainConfig, TrainState>(dir, { repair: true }) };
}

/** The model on its backend: sized for both loaders' largest batches, with the checkpoint's or fresh weights. */
async function buildRunModel(
  config: TrainConfig,
  data: RunData,
  resumed: ResumePoint | null,
  backend: Backend | undefined,
  log: (line: string) => void,
): Promise<BuiltModel> {
  const built = await buildModel({
    config: modelConfigFrom(config, data.tokenizer.vocabSize),
    capacity: { ...capacityFor([data.trainLoader, data.validLoader]), accumulate: config.gradAccumSteps > 1 },
    backend: backend ?? config.backend,
    threads: config.threads,
    weights: resumed?.checkpoint.tensors ?? Rng.derive(config.seed, "init"),
  });
  const { model, backend: be } = built;
  log(
    `model: ${(model.numParams / 1e6).toFixed(2)}M parameters, backend ${be.name} (${be.threads} thread${be.threads === 1 ? "" : "s"})`,
  );
  return built;
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
  adam.setState({ step: state.step, m: m.data, v: v.data });
  trainLoader.restore(state.loader);
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

/** The newest `last-*` checkpoint of a run, the one --resume continues from. */
async function latestCheckpoint(run: RunDirectory): Promise<string> {
  const latest = await run.latestCheckpoint();
  if (latest === null)
    throw new Error(`${run.dir}: no latest checkpoint (last-*) to resume from; was it trained with --keep-last 0?`);
  return latest;
}

/** One line for the end of a run. */
export function describeSummary(s: TrainSummary): string {
  const best = s.bestValidLoss === null ? "none" : `${s.bestValidLoss.toFixed(4)} at step ${s.bestStep}`;
  return (
    `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ` +
    `${s.msPerStep.toFixed(0)} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | ` +
    `wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`
  );
}
