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
import { createBackend } from "../engine/create.js";
import { Rng } from "../util/rng.js";
import type { Backend } from "../engine/backend.js";
import { prepareData, runLoaders, type TokenizedSplit } from "../data/index.js";
import { MlmModel, type EvalMetrics, type ModelCapacity, type PackMode } from "../model/index.js";
import { fromCheckpointFile, loadCheckpoint, modelConfigFrom } from "../run/index.js";
import { SummaryWriter } from "../track/index.js";
import { createProgress, formatSeconds } from "../util/progress.js";
import { openRun, type OpenedRun } from "./open-run.js";
import { adamFor } from "./optimizer.js";
import { formatRate, initialState, TrainingSession } from "./session.js";
import { parseTrainState, type TrainState } from "./train-state.js";

/** How `train` runs, beyond the configuration. */
export interface TrainOptions {
  /** Continue the run in this directory from its latest checkpoint (its config.json is used). */
  resume?: string;
  /** Start afresh in a directory that already holds a run, deleting the old run's files (see open-run.ts). */
  force?: boolean;
  /** Where progress messages go; default stderr when config.progress, else nowhere. */
  log?: (line: string) => void;
  /** Stops the loop cleanly (after the current step, with a latest checkpoint) when aborted. */
  signal?: AbortSignal;
  /** A backend to use instead of creating one (it is not disposed). */
  backend?: Backend;
}

/** What a run reached, returned by `train` (the CLI prints it with `describeSummary`). */
export interface TrainSummary {
  runDir: string;
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
  wallSeconds: number;
  /** Why the loop ended. */
  stoppedBy: "schedule" | "early-stopping" | "signal";
}

/**
 * Trains a masked language model as configured; see the module comment. The run directory is locked
 * while it trains (a second trainer is refused), and a new run refuses a directory holding one unless
 * `options.force` (open-run.ts).
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const wallStart = Date.now();
  const log = options.log ?? (config.progress ? (line: string) => process.stderr.write(line + "\n") : () => {});
  const opened = await openRun(config, options, log);
  try {
    return await trainInRun(config, options, log, wallStart, opened);
  } finally {
    await opened.lock.release();
  }
}

/** The run itself, in a locked run directory. */
async function trainInRun(
  config: TrainConfig,
  options: TrainOptions,
  log: (line: string) => void,
  wallStart: number,
  { run, resumeFrom, corpus }: OpenedRun,
): Promise<TrainSummary> {
  // ---- run directory, resumed or new ----
  const runDir = run.dir;
  log(`run directory: ${runDir}`);

  // ---- data, tokenizer, loaders ----
  const data = await prepareData(config, log, resumeFrom !== null ? await run.readTokenizer() : undefined);
  const tokenizer = data.tokenizer;
  if (resumeFrom === null) {
    await run.writeTokenizer(tokenizer);
    await run.writeConfig(config);
    await run.writeInputs(corpus);
  }
  const { train: trainLoader, valid: validLoader, packMode } = runLoaders(config, tokenizer, data.train, data.valid);
  const stepsPerEpoch = trainLoader.batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  const totalSteps = config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
  if (totalSteps < 1)
    throw new Error(
      `nothing to train: ${config.epochs} epochs of ${trainLoader.batchesPerEpoch} batches make no step of ${config.gradAccumSteps} accumulated batches`,
    );

  // ---- model, optimizer ----
  const backend = options.backend ?? (await createBackend(config.backend, config.threads));
  try {
    const modelConfig = modelConfigFrom(config, tokenizer.vocabSize);
    const model = new MlmModel(backend, modelConfig, modelCapacity([data.train, data.valid], config, packMode));
    const adam = adamFor(backend, model, config);
    log(
      `model: ${(model.numParams / 1e6).toFixed(2)}M parameters, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? "" : "s"})`,
    );

    // ---- state: restored from the latest checkpoint, or fresh ----
    let state: TrainState;
    let dropoutRng: Rng;
    if (resumeFrom !== null) {
      const ckpt = await loadCheckpoint<TrainConfig, TrainState>(resumeFrom, {
        repair: true,
        parseState: parseTrainState,
      });
      fromCheckpointFile(resumeFrom, "model", () => model.loadTensors(ckpt.tensors));
      const m = ckpt.optimizer?.find((t) => t.name === "adam.m");
      const v = ckpt.optimizer?.find((t) => t.name === "adam.v");
      if (!m || !v) throw new Error(`${resumeFrom}: optimizer.safetensors lacks adam.m / adam.v`);
      state = ckpt.state;
      fromCheckpointFile(resumeFrom, "optimizer", () => adam.setState({ step: state.step, m: m.data, v: v.data }));
      fromCheckpointFile(resumeFrom, "state", () => trainLoader.restore(state.loader));
      dropoutRng = Rng.fromState(state.dropoutRng);
      await run.truncateMetrics(state.step);
      log(
        `resumed from ${resumeFrom}: step ${state.step}, epoch ${state.loader.epoch + 1}, batch ${state.loader.index} of ${trainLoader.batchesPerEpoch} (the loader jumps there directly; data order, masks and dropout continue exactly)`,
      );
      const before = state.kernels;
      if (before !== undefined && before !== kernelsOf(backend)) {
        log(
          `note: the run was trained with ${before} kernels, it continues with ${kernelsOf(backend)}; losses may differ from an uninterrupted run in the last digits`,
        );
      }
    } else {
      model.init(Rng.derive(config.seed, "init"));
      dropoutRng = Rng.derive(config.seed, "dropout");
      state = initialState(trainLoader, dropoutRng);
    }
    state.kernels = kernelsOf(backend);

    // ---- the loop ----
    const writer = new SummaryWriter(runDir);
    const metrics = await run.openMetrics();
    try {
      const schedule = {
        peak: config.learningRate,
        schedule: config.lrSchedule,
        warmupSteps: config.warmupSteps,
        totalSteps,
      };
      const parts = {
        config,
        modelConfig,
        run,
        backend,
        model,
        adam,
        tokenizer,
        trainLoader,
        validLoader,
        packMode,
        writer,
        metrics,
        log,
        schedule,
      };
      const session = new TrainingSession(parts, state, dropoutRng);
      const start = {
        step: state.step,
        seconds: state.trainSeconds,
        tokens: state.tokensSeen,
        padded: state.paddedTokensSeen,
      };
      let stoppedBy: TrainSummary["stoppedBy"] = "schedule";
      if (resumeFrom === null && config.evalAtStart && (await session.evaluateAndCheckpoint()))
        stoppedBy = "early-stopping";
      const bar = createProgress({ label: "train", total: totalSteps, silent: !config.progress });
      bar.update(state.step);
      let epoch = state.loader.epoch;
      while (stoppedBy === "schedule" && state.step < totalSteps) {
        if (options.signal?.aborted) {
          stoppedBy = "signal";
          break;
        }
        const figures = session.step();
        epoch = figures.epoch;
        const seconds = Math.max(1e-9, state.trainSeconds - start.seconds);
        const tokensPerSec = (state.tokensSeen - start.tokens) / seconds;
        if (state.step % config.logSteps === 0)
          session.logTraining(figures, tokensPerSec, (state.paddedTokensSeen - start.padded) / seconds);
        if (
          (state.step % config.evalSteps === 0 || state.step === totalSteps) &&
          (await session.evaluateAndCheckpoint())
        )
          stoppedBy = "early-stopping";
        const lastValid = state.validHistory.at(-1)?.loss;
        bar.update(
          state.step,
          `epoch ${epoch + 1}/${config.epochs} loss ${figures.loss.toFixed(3)} val ${lastValid === undefined ? "-" : lastValid.toFixed(3)} ${formatRate(tokensPerSec)} tok/s`,
        );
      }
      bar.stop();
      if (stoppedBy !== "schedule" && state.validHistory.at(-1)?.step !== state.step) await session.saveLatest();
      if (stoppedBy === "early-stopping")
        log(`early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);
      if (stoppedBy === "signal") log(`stopped at step ${state.step}; resume with: mlm train --resume ${runDir}`);

      const stepsRun = state.step - start.step;
      const secondsRun = state.trainSeconds - start.seconds;
      return {
        runDir,
        steps: state.step,
        epochs: epoch + 1,
        bestValidLoss: state.bestValidLoss,
        bestStep: state.bestStep,
        evaluations: session.evaluations,
        msPerStep: stepsRun > 0 ? (1000 * secondsRun) / stepsRun : Number.NaN,
        tokensPerSecond: secondsRun > 0 ? (state.tokensSeen - start.tokens) / secondsRun : Number.NaN,
        wallSeconds: (Date.now() - wallStart) / 1000,
        stoppedBy,
      };
    } finally {
      // Also on an error: what was logged stays on disk.
      writer.close();
      await metrics.close();
    }
  } finally {
    if (options.backend === undefined) backend.dispose();
  }
}

/** "wasm-simd-fma": the kernels, which decide the last bits of every sum (the thread count does not). */
function kernelsOf(backend: Backend): string {
  return backend.name.replace(/x\d+$/, "");
}

/** One line for the end of a run. */
export function describeSummary(s: TrainSummary): string {
  const best = s.bestValidLoss === null ? "none" : `${s.bestValidLoss.toFixed(4)} at step ${s.bestStep}`;
  return `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ${s.msPerStep.toFixed(0)} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`;
}

/** Buffers sized once for the largest batch of either split (see ModelCapacity). */
export function modelCapacity(splits: TokenizedSplit[], config: TrainConfig, packMode: PackMode): ModelCapacity {
  let maxRows = 0;
  for (const split of splits) {
    const lengths = new Int32Array(split.count);
    for (let i = 0; i < split.count; i++) lengths[i] = split.offsets[i + 1] - split.offsets[i];
    lengths.sort();
    const B = Math.min(config.batchSize, split.count);
    const longest = config.padToMax ? config.maxLen : lengths[lengths.length - 1];
    // Unpadded rows: at most the B longest sentences; padded rows: B times the padded width.
    let rows = 0;
    if (packMode === "padded") rows = B * longest;
    else for (let i = lengths.length - B; i < lengths.length; i++) rows += lengths[i];
    maxRows = Math.max(maxRows, rows);
  }
  // The head runs in chunks of the model's default size (512 rows), whatever the batch.
  return { maxRows, maxSeqs: config.batchSize };
}
