/**
 * The training loop of `mlm train`: the tutorial's loop (epochs of batches, an evaluation every
 * `evalSteps`, the training loss logged every `logSteps`, a checkpoint whenever the validation loss
 * improves), plus what users expect around it: a latest checkpoint to resume from (at evaluations,
 * every `saveSteps` steps or `saveMinutes` minutes, and when stopped by a signal), learning-rate
 * schedules, gradient accumulation, early stopping, TensorBoard and metrics.jsonl, progress bars,
 * the run's status, a stop with the step and tensor on a non-finite number, a warning on divergence.
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
import { defaultRunDir, loadCheckpoint, modelConfigFrom, RunDirectory } from "../run/index.js";
import { SummaryWriter } from "../track/index.js";
import { createProgress, formatSeconds } from "../util/progress.js";
import { Pacer } from "../util/cooperative.js";
import { NonFiniteError } from "./health.js";
import { adamFor } from "./optimizer.js";
import { evaluationDue, formatRate, initialState, TrainingSession } from "./session.js";
import type { TrainState } from "./train-state.js";

export { NonFiniteError };

/** How `train` runs, beyond the configuration. */
export interface TrainOptions {
  /** Continue the run in this directory from its latest checkpoint (its config.json is used). */
  resume?: string;
  /** Where progress messages go; default stderr when config.progress, else nowhere. */
  log?: (line: string) => void;
  /** Where warnings go (a diverging loss; also recorded in metrics.jsonl); default stderr. */
  warn?: (line: string) => void;
  /**
   * Stops the run cleanly once aborted (the CLI aborts it on Ctrl-C, SIGTERM and SIGHUP; the library
   * installs no signal handler). During training or an evaluation, within about 50 ms or one step or
   * evaluation batch, whichever is longer: the run writes a latest checkpoint of the last finished
   * step, flushes its logs, records the status "interrupted" and returns with stoppedBy "signal" (an
   * evaluation cut short is redone first when resumed). Before that (reading the corpus, training the
   * tokenizer, tokenizing), `train` throws the signal's reason.
   */
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
  /** Mean training step time (evaluations excluded), in ms; NaN when no step ran. */
  msPerStep: number;
  /** Real (non-padding) tokens per second of training. */
  tokensPerSecond: number;
  wallSeconds: number;
  /** The newest latest checkpoint, the one --resume continues from (null: none, with --keep-last 0). */
  latestCheckpoint: string | null;
  /**
   * Why the loop ended; "complete": a resumed run had nothing left to do (its last step done and
   * evaluated, or early stopping fired), so nothing was run or written.
   */
  stoppedBy: "schedule" | "early-stopping" | "signal" | "complete";
}

/**
 * Trains a masked language model as configured; see the module comment. The run records its state
 * in status.json: "running" once it starts, then "finished", "interrupted" (options.signal) or
 * "failed" with the error's message (a non-finite loss or gradient among others).
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const wallStart = Date.now();
  const log = options.log ?? (config.progress ? (line: string) => process.stderr.write(line + "\n") : () => {});
  const warn = options.warn ?? ((line: string) => process.stderr.write(line + "\n"));
  const signal = options.signal;

  // ---- run directory, resumed or new ----
  const run = new RunDirectory(options.resume ?? config.outDir ?? defaultRunDir());
  const resumeFrom = options.resume === undefined ? null : await latestCheckpoint(run);
  const ckpt = resumeFrom === null ? null : await loadCheckpoint<TrainConfig, TrainState>(resumeFrom, { repair: true });
  const runDir = run.dir;
  log(`run directory: ${runDir}`);

  // ---- data, tokenizer, loaders ----
  const data = await prepareData(config, log, resumeFrom !== null ? await run.readTokenizer() : undefined, signal);
  const tokenizer = data.tokenizer;
  const { train: trainLoader, valid: validLoader, packMode } = runLoaders(config, tokenizer, data.train, data.valid);
  const stepsPerEpoch = trainLoader.batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  const totalSteps = config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
  if (totalSteps < 1)
    throw new Error(
      `nothing to train: ${config.epochs} epochs of ${trainLoader.batchesPerEpoch} batches make no step of ${config.gradAccumSteps} accumulated batches`,
    );
  if (ckpt !== null && isComplete(ckpt.state, config, totalSteps))
    return completeSummary(runDir, resumeFrom, ckpt.state, (Date.now() - wallStart) / 1000);
  if (resumeFrom === null) {
    await run.writeTokenizer(tokenizer);
    await run.writeConfig(config);
  }

  // ---- model, optimizer ----
  const backend = options.backend ?? (await createBackend(config.backend, config.threads));
  // From here on the run records where it stands (status.json).
  let state: TrainState | null = ckpt?.state ?? null;
  try {
    await run.writeStatus({ state: "running", step: state?.step ?? 0 });
    const modelConfig = modelConfigFrom(config, tokenizer.vocabSize);
    const model = new MlmModel(backend, modelConfig, modelCapacity([data.train, data.valid], config, packMode));
    const adam = adamFor(backend, model, config);
    log(
      `model: ${(model.numParams / 1e6).toFixed(2)}M parameters, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? "" : "s"})`,
    );

    // ---- state: restored from the latest checkpoint, or fresh ----
    let dropoutRng: Rng;
    if (ckpt !== null) {
      model.loadTensors(ckpt.tensors);
      const m = ckpt.optimizer?.find((t) => t.name === "adam.m");
      const v = ckpt.optimizer?.find((t) => t.name === "adam.v");
      if (!m || !v) throw new Error(`${resumeFrom}: optimizer.safetensors lacks adam.m / adam.v`);
      state = ckpt.state;
      adam.setState({ step: state.step, m: m.data, v: v.data });
      trainLoader.restore(state.loader);
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
        warn,
        schedule,
      };
      const session = new TrainingSession(parts, state, dropoutRng);
      if (ckpt !== null) session.latestStep = state.step;
      const start = {
        step: state.step,
        seconds: state.trainSeconds,
        tokens: state.tokensSeen,
        padded: state.paddedTokensSeen,
      };
      let stoppedBy: TrainSummary["stoppedBy"] = "schedule";
      const bar = createProgress({ label: "train", total: totalSteps, silent: !config.progress });
      bar.update(state.step);
      // Signal handlers run only while the loop awaits: it gives the event loop a turn about every 50 ms.
      const pacer = new Pacer();
      let epoch = state.loader.epoch;
      try {
        if (evaluationDue(state, config, totalSteps) && (await session.evaluateAndCheckpoint(signal)))
          stoppedBy = "early-stopping";
        while (stoppedBy === "schedule" && state.step < totalSteps) {
          if (pacer.due()) await pacer.pause();
          if (signal?.aborted) {
            stoppedBy = "signal";
            break;
          }
          const figures = session.step();
          epoch = figures.epoch;
          const seconds = Math.max(1e-9, state.trainSeconds - start.seconds);
          const tokensPerSec = (state.tokensSeen - start.tokens) / seconds;
          if (state.step % config.logSteps === 0)
            session.logTraining(figures, tokensPerSec, (state.paddedTokensSeen - start.padded) / seconds);
          if (evaluationDue(state, config, totalSteps)) {
            if (await session.evaluateAndCheckpoint(signal)) stoppedBy = "early-stopping";
          } else if (session.saveDue()) {
            await session.saveLatest();
          }
          const lastValid = state.validHistory.at(-1)?.loss;
          bar.update(
            state.step,
            `epoch ${epoch + 1}/${config.epochs} loss ${figures.loss.toFixed(3)} val ${lastValid === undefined ? "-" : lastValid.toFixed(3)} ${formatRate(tokensPerSec)} tok/s`,
          );
        }
      } catch (err) {
        // An evaluation cut short by the signal records nothing: the resumed run does it first.
        if (!(signal?.aborted && err === signal.reason)) throw err;
        stoppedBy = "signal";
      } finally {
        bar.stop();
      }
      if (session.latestStep !== state.step) await session.saveLatest();
      if (stoppedBy === "early-stopping")
        log(`early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);

      const stepsRun = state.step - start.step;
      const secondsRun = state.trainSeconds - start.seconds;
      await run.writeStatus({ state: stoppedBy === "signal" ? "interrupted" : "finished", step: state.step });
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
        latestCheckpoint: session.latestStep === null ? null : run.lastDir(session.latestStep),
        stoppedBy,
      };
    } finally {
      // Also on an error: what was logged stays on disk.
      writer.close();
      await metrics.close();
    }
  } catch (err) {
    await recordFailure(run, state?.step ?? 0, err, signal, log);
    throw err;
  } finally {
    if (options.backend === undefined) backend.dispose();
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

/** Whether a resumed run has nothing left to do: its last step done and evaluated, or early stopping fired. */
function isComplete(state: TrainState, config: TrainConfig, totalSteps: number): boolean {
  if (evaluationDue(state, config, totalSteps)) return false;
  return (
    state.step >= totalSteps || (config.earlyStopping > 0 && state.evalsWithoutImprovement >= config.earlyStopping)
  );
}

/** The summary of a resumed run that was already complete (nothing ran). */
function completeSummary(
  runDir: string,
  checkpoint: string | null,
  state: TrainState,
  wallSeconds: number,
): TrainSummary {
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
    latestCheckpoint: checkpoint,
    stoppedBy: "complete",
  };
}

/** "wasm-simd-fma": the kernels, which decide the last bits of every sum (the thread count does not). */
function kernelsOf(backend: Backend): string {
  return backend.name.replace(/x\d+$/, "");
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
  if (s.stoppedBy === "complete")
    return `already complete: ${s.runDir} is at step ${s.steps} (best validation loss ${best}); nothing was run or written (raise --max-steps, --epochs or --early-stopping to train further)`;
  const ms = Number.isFinite(s.msPerStep) ? s.msPerStep.toFixed(0) : "-";
  return `done: best validation loss ${best} | ${s.steps} steps, ${s.epochs} epoch${s.epochs === 1 ? "" : "s"} | ${ms} ms/step, ${formatRate(s.tokensPerSecond)} tokens/s | wall ${formatSeconds(s.wallSeconds)} | ${s.runDir}`;
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
