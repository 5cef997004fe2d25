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
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolveConfig, type TrainConfig } from "../config.js";
import { Rng } from "../engine/rng.js";
import type { Backend } from "../engine/backend.js";
import type { MlmDataLoader } from "../data/index.js";
import { buildModel, capacityFor, type BuiltModel } from "../model/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { formatMetricsLine, readMetrics, writeFileAtomic } from "../track/index.js";
import { formatSeconds } from "../track/progress.js";
import { adamFor, type Adam } from "./optimizer.js";
import type { ScheduleOptions } from "./schedule.js";
import { modelConfigFrom, prepareData, runLoaders } from "./prepare.js";
import { loadCheckpoint, type Checkpoint } from "./checkpoint.js";
import { defaultRunDir, listLastCheckpoints, RUN_FILES, type TrainState } from "./run-dir.js";
import { formatRate, initialState, TrainingSession, type SessionOutcome, type SessionStart } from "./session.js";

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

/** Trains a masked language model as configured; see the module comment. */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const wallStart = Date.now();
  const log = options.log ?? (config.progress ? (line: string) => process.stderr.write(line + "\n") : () => {});
  const run = openRunDir(config, options.resume, log);
  const data = await prepareRunData(config, run, log);
  const resumed = run.resumeFrom === null ? null : readCheckpoint(run.resumeFrom);
  const { model, backend, dispose } = await buildRunModel(config, data, resumed, options.backend, log);
  try {
    const adam = adamFor(backend, model, config);
    const start =
      resumed === null
        ? freshState(config, data.trainLoader, backend)
        : restoredState(resumed, run, data.trainLoader, adam, backend, log);
    const session = new TrainingSession({ config, runDir: run.dir, model, adam, ...data, log }, start);
    try {
      const outcome = session.run(options.signal);
      return { runDir: run.dir, ...outcome, wallSeconds: (Date.now() - wallStart) / 1000 };
    } finally {
      session.close();
    }
  } finally {
    dispose();
  }
}

/** The run directory, new or resumed, and the checkpoint a resumed run continues from. */
interface RunDir {
  dir: string;
  resumeFrom: string | null;
}

/** A run's tokenizer and loaders, and the learning-rate schedule over its steps. */
interface RunData {
  tokenizer: Tokenizer;
  trainLoader: MlmDataLoader;
  validLoader: MlmDataLoader;
  schedule: ScheduleOptions;
}

/** The checkpoint a resumed run continues from, and its directory. */
interface ResumePoint {
  dir: string;
  checkpoint: Checkpoint<TrainConfig, TrainState>;
}

/** Opens the run directory: the one to resume (with its latest checkpoint) or a new one. */
function openRunDir(config: TrainConfig, resume: string | undefined, log: (line: string) => void): RunDir {
  const resumeFrom = resume === undefined ? null : latestCheckpoint(resume);
  const dir = resolve(resume ?? config.outDir ?? defaultRunDir());
  mkdirSync(dir, { recursive: true });
  log(`run directory: ${dir}`);
  return { dir, resumeFrom };
}

/**
 * Reads the corpus and tokenizes the splits (with the run's own tokenizer when resuming; a new run
 * saves its tokenizer and configuration first), makes the loaders and the schedule.
 */
async function prepareRunData(config: TrainConfig, run: RunDir, log: (line: string) => void): Promise<RunData> {
  const runTokenizer = join(run.dir, RUN_FILES.tokenizer);
  const data = await prepareData(config, log, run.resumeFrom !== null ? Tokenizer.load(runTokenizer) : undefined);
  const tokenizer = data.tokenizer;
  if (run.resumeFrom === null) {
    tokenizer.save(runTokenizer);
    writeFileAtomic(join(run.dir, RUN_FILES.config), JSON.stringify({ ...config, outDir: run.dir }, null, 2) + "\n");
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
  return { tokenizer, trainLoader, validLoader, schedule };
}

/** The latest checkpoint of a resumed run, after repairing what an interrupted save left. */
function readCheckpoint(dir: string): ResumePoint {
  return { dir, checkpoint: loadCheckpoint<TrainConfig, TrainState>(dir, { repair: true }) };
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
  state.kernels = kernelsOf(backend);
  return { state, dropoutRng, resumed: false };
}

/**
 * The state of a resumed run: the checkpoint's, with the optimizer's moments, the loader's position
 * and the dropout generator restored, and the metrics logged after the checkpoint dropped.
 */
function restoredState(
  resumed: ResumePoint,
  run: RunDir,
  trainLoader: MlmDataLoader,
  adam: Adam,
  backend: Backend,
  log: (line: string) => void,
): SessionStart {
  const { dir, checkpoint } = resumed;
  const m = checkpoint.optimizer?.find((t) => t.name === "adam.m");
  const v = checkpoint.optimizer?.find((t) => t.name === "adam.v");
  if (!m || !v) throw new Error(`${dir}: optimizer.safetensors lacks adam.m / adam.v`);
  const state = checkpoint.state;
  adam.setState({ step: state.step, m: m.data, v: v.data });
  trainLoader.restore(state.loader);
  const dropoutRng = Rng.fromState(state.dropoutRng);
  truncateMetrics(join(run.dir, RUN_FILES.metrics), state.step);
  log(
    `resumed from ${dir}: step ${state.step}, epoch ${state.loader.epoch + 1}, batch ${state.loader.index} of ${trainLoader.batchesPerEpoch} (the loader jumps there directly; data order, masks and dropout continue exactly)`,
  );
  const before = state.kernels;
  if (before !== undefined && before !== kernelsOf(backend)) {
    log(
      `note: the run was trained with ${before} kernels, it continues with ${kernelsOf(backend)}; losses may differ from an uninterrupted run in the last digits`,
    );
  }
  state.kernels = kernelsOf(backend);
  return { state, dropoutRng, resumed: true };
}

/** "wasm-simd-fma": the kernels, which decide the last bits of every sum (the thread count does not). */
function kernelsOf(backend: Backend): string {
  return backend.name.replace(/x\d+$/, "");
}

/** The newest `last-*` checkpoint of a run, the one --resume continues from. */
function latestCheckpoint(runDir: string): string {
  const lasts = listLastCheckpoints(runDir);
  if (lasts.length === 0)
    throw new Error(`${runDir}: no latest checkpoint (last-*) to resume from; was it trained with --keep-last 0?`);
  return lasts[lasts.length - 1];
}

/** The configuration a run was started with (for --resume). */
export function readRunConfig(runDir: string): TrainConfig {
  const path = join(runDir, RUN_FILES.config);
  if (!existsSync(path)) throw new Error(`${runDir}: not a run directory (no ${RUN_FILES.config})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return resolveConfig(parsed as Record<string, unknown>, path);
}

/** One line for the end of a run. */
export function describeSummary(s: TrainSummary): string {
  const best = s.bestValidLoss === null ? "none" : `${s.bestValidLoss.toFixed(4)} at step ${s.bestStep}`;
  return `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ${s.msPerStep.toFixed(0)} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`;
}

/** On resume, drops the metrics logged after the checkpoint: they are recomputed identically. */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readMetrics(path).filter((r) => r.step <= step);
  writeFileAtomic(path, kept.map(formatMetricsLine).join(""));
}
