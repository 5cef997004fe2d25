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
import { createBackend } from "../engine/create.js";
import { Rng } from "../engine/rng.js";
import type { Backend } from "../engine/backend.js";
import { MlmDataLoader, type TokenizedSplit } from "../data/index.js";
import { MlmModel, packBatch, type ModelCapacity, type PackMode, type PackedBatch } from "../model/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { SummaryWriter, MetricsLog, readMetrics, writeFileAtomic } from "../track/index.js";
import { createProgress, formatSeconds } from "../track/progress.js";
import { Adam } from "./optimizer.js";
import { learningRateAt } from "./schedule.js";
import { evaluateSplit, type EvalMetrics } from "./evaluate.js";
import { neverMaskedIds, prepareData, requireToken } from "./prepare.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { defaultRunDir, lastCheckpointName, listLastCheckpoints, pruneLastCheckpoints, RUN_FILES, type TrainState } from "./run-dir.js";

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

/** Trains a masked language model as configured; see the module comment. */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const wallStart = Date.now();
  const log = options.log ?? (config.progress ? (line: string) => process.stderr.write(line + "\n") : () => {});

  // ---- run directory, resumed or new ----
  const resumeDir = options.resume;
  let resumeFrom: string | null = null;
  if (resumeDir !== undefined) {
    const lasts = listLastCheckpoints(resumeDir);
    if (lasts.length === 0) throw new Error(`${resumeDir}: no latest checkpoint (last-*) to resume from; was it trained with --keep-last 0?`);
    resumeFrom = lasts[lasts.length - 1]!;
  }
  const runDir = resolve(resumeDir ?? config.outDir ?? defaultRunDir());
  mkdirSync(runDir, { recursive: true });
  log(`run directory: ${runDir}`);

  // ---- data and tokenizer ----
  const runTokenizer = join(runDir, RUN_FILES.tokenizer);
  const tokenizer = resumeFrom !== null ? Tokenizer.load(runTokenizer) : undefined;
  const data = await prepareData(config, log, tokenizer);
  const tok = data.tokenizer;
  if (resumeFrom === null) {
    tok.save(runTokenizer);
    writeFileAtomic(join(runDir, RUN_FILES.config), JSON.stringify({ ...config, outDir: runDir }, null, 2) + "\n");
  }
  const modelConfig = {
    vocabSize: tok.vocabSize,
    dModel: config.dModel,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    dFF: config.dFF,
    dropout: config.dropout,
    maxLen: config.maxLen,
  };

  // ---- loaders (validation masks fixed by seed) ----
  const special = neverMaskedIds(tok);
  const loaderOptions = {
    batchSize: config.batchSize,
    padding: config.padToMax ? ("max" as const) : ("longest" as const),
    maxLen: config.maxLen,
    seed: config.seed,
    mask: { probability: config.maskProb, maskTokenRate: config.maskTokenRate, randomTokenRate: config.randomTokenRate },
    padId: requireToken(tok, "[PAD]"),
    maskId: requireToken(tok, "[MASK]"),
    vocabSize: tok.vocabSize,
    isSpecial: special,
  };
  const trainLoader = new MlmDataLoader(data.train, { ...loaderOptions, shuffle: config.shuffle });
  const validLoader = new MlmDataLoader(data.valid, { ...loaderOptions, shuffle: false, fixedMasks: true });
  const packMode: PackMode = config.computePadding ? "padded" : "unpadded";

  // ---- model, optimizer, backend ----
  const backend = options.backend ?? (await createBackend(config.backend, config.threads));
  try {
    const capacity = modelCapacity([data.train, data.valid], config, packMode);
    const model = new MlmModel(backend, modelConfig, capacity);
    const adam = new Adam(backend, model.params.length, {
      beta1: config.beta1,
      beta2: config.beta2,
      eps: config.adamEps,
      maxGradNorm: config.gradClip,
      weightDecay: config.weightDecay,
      decayMask: config.weightDecay > 0 ? model.decayMask() : null,
    });
    const accumGrads = config.gradAccumSteps > 1 ? backend.alloc(model.grads.length) : null;
    log(`model: ${(model.numParams / 1e6).toFixed(2)}M parameters, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? "" : "s"})`);

    let state: TrainState;
    let dropoutRng: Rng;
    if (resumeFrom !== null) {
      const ckpt = loadCheckpoint<TrainConfig, TrainState>(resumeFrom);
      model.loadTensors(ckpt.tensors);
      const m = ckpt.optimizer?.find((t) => t.name === "adam.m");
      const v = ckpt.optimizer?.find((t) => t.name === "adam.v");
      if (!m || !v) throw new Error(`${resumeFrom}: optimizer.safetensors lacks adam.m / adam.v`);
      state = ckpt.state;
      adam.setState({ step: state.step, m: m.data, v: v.data });
      trainLoader.restore(state.loader);
      dropoutRng = Rng.fromState(state.dropoutRng);
      truncateMetrics(join(runDir, RUN_FILES.metrics), state.step);
      log(`resumed from ${resumeFrom}: step ${state.step}, epoch ${state.loader.epoch + 1}, batch ${state.loader.index} of ${trainLoader.batchesPerEpoch} (data order, masks and dropout continue exactly)`);
    } else {
      model.init(Rng.derive(config.seed, "init"));
      dropoutRng = Rng.derive(config.seed, "dropout");
      state = {
        step: 0,
        loader: trainLoader.position(),
        dropoutRng: dropoutRng.state(),
        bestValidLoss: null,
        bestStep: null,
        evalsWithoutImprovement: 0,
        validHistory: [],
        tokensSeen: 0,
        trainSeconds: 0,
      };
    }

    // ---- tracking ----
    const writer = new SummaryWriter(runDir);
    const metrics = new MetricsLog(join(runDir, RUN_FILES.metrics));
    const microPerEpoch = trainLoader.batchesPerEpoch;
    const scheduleSteps = Math.floor((config.epochs * microPerEpoch) / config.gradAccumSteps);
    const totalSteps = config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
    if (totalSteps < 1) throw new Error(`nothing to train: ${config.epochs} epochs of ${microPerEpoch} batches make no step of ${config.gradAccumSteps} accumulated batches`);
    const schedule = { peak: config.learningRate, schedule: config.lrSchedule, warmupSteps: config.warmupSteps, totalSteps };
    const evaluations: TrainSummary["evaluations"] = state.validHistory.map((h) => ({ step: h.step, metrics: { loss: h.loss } as EvalMetrics }));
    let packed: PackedBatch | undefined;

    const evaluate = (): EvalMetrics => {
      const t0 = Date.now();
      const result = evaluateSplit(model, validLoader, { packMode, fullHead: config.fullHead, packed, progress: config.progress, label: "eval" });
      const step = state.step;
      writer.addScalar("Loss/valid", result.loss, step);
      writer.addScalar("Perplexity/valid", result.perplexity, step);
      writer.addScalar("Accuracy/valid_top1", result.accuracy, step);
      writer.addScalar("Accuracy/valid_top5", result.top5, step);
      metrics.log(step, { split: "valid", loss: result.loss, perplexity: result.perplexity, accuracy: result.accuracy, top5: result.top5, tokens: result.tokens });
      evaluations.push({ step, metrics: result });
      state.validHistory.push({ step, loss: result.loss });
      log(`step ${step}: validation loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(1)}, accuracy ${(100 * result.accuracy).toFixed(1)}% (top-5 ${(100 * result.top5).toFixed(1)}%) [${Date.now() - t0} ms]`);
      return result;
    };

    const checkpoint = (dir: string): void => {
      state.loader = trainLoader.position();
      state.dropoutRng = dropoutRng.state();
      saveCheckpoint(dir, {
        config: { ...config, outDir: runDir, model: modelConfig },
        tensors: model.tensors(),
        tokenizerJson: tok.toString(),
        state,
        optimizer: [
          { name: "adam.m", shape: [adam.m.length], data: adam.m },
          { name: "adam.v", shape: [adam.v.length], data: adam.v },
        ],
      });
    };

    /** Evaluates, keeps the best checkpoint and the latest ones; true when early stopping fires. */
    const evaluateAndCheckpoint = (): boolean => {
      const { loss } = evaluate();
      if (state.bestValidLoss === null || loss < state.bestValidLoss) {
        state.bestValidLoss = loss;
        state.bestStep = state.step;
        state.evalsWithoutImprovement = 0;
        checkpoint(join(runDir, RUN_FILES.best));
        log(`step ${state.step}: new best validation loss, checkpoint saved to ${join(runDir, RUN_FILES.best)}`);
      } else {
        state.evalsWithoutImprovement++;
      }
      saveLatest();
      return config.earlyStopping > 0 && state.evalsWithoutImprovement >= config.earlyStopping;
    };
    const saveLatest = (): void => {
      if (config.keepLast === 0) return;
      checkpoint(join(runDir, lastCheckpointName(state.step)));
      pruneLastCheckpoints(runDir, config.keepLast);
    };

    // ---- the loop ----
    let stoppedBy: TrainSummary["stoppedBy"] = "schedule";
    if (resumeFrom === null && config.evalAtStart && evaluateAndCheckpoint()) stoppedBy = "early-stopping";
    const bar = createProgress({ label: "train", total: totalSteps, silent: !config.progress });
    bar.update(state.step);
    let lossSinceLog = 0;
    let stepsSinceLog = 0;
    let lastValid = state.validHistory.length > 0 ? state.validHistory[state.validHistory.length - 1]!.loss : Number.NaN;
    const stepsAtStart = state.step;
    const secondsAtStart = state.trainSeconds;
    const tokensAtStart = state.tokensSeen;
    let epoch = state.loader.epoch;
    while (stoppedBy === "schedule" && state.step < totalSteps) {
      if (options.signal?.aborted) {
        stoppedBy = "signal";
        break;
      }
      const t0 = performance.now();
      let stepLoss = 0;
      let realTokens = 0;
      let paddedTokens = 0;
      for (let micro = 0; micro < config.gradAccumSteps; micro++) {
        const next = trainLoader.next();
        epoch = next.epoch;
        const batch = next.batch;
        packed = packBatch(batch, packMode, packed);
        const r = model.forwardBackward(packed, { train: true, dropoutRng, fullHead: config.fullHead });
        stepLoss += r.loss / config.gradAccumSteps;
        for (let b = 0; b < batch.B; b++) realTokens += batch.lengths[b]!;
        paddedTokens += batch.B * batch.S;
        if (accumGrads !== null) addScaled(accumGrads, model.grads, 1 / config.gradAccumSteps, micro === 0);
      }
      const lr = learningRateAt(state.step + 1, schedule);
      const { gradNorm } = adam.update(model.params, accumGrads ?? model.grads, lr);
      state.step++;
      const seconds = (performance.now() - t0) / 1000;
      state.trainSeconds += seconds;
      state.tokensSeen += realTokens;
      lossSinceLog += stepLoss;
      stepsSinceLog++;

      const tokPerSec = (state.tokensSeen - tokensAtStart) / Math.max(1e-9, state.trainSeconds - secondsAtStart);
      if (state.step % config.logSteps === 0) {
        const mean = lossSinceLog / stepsSinceLog;
        writer.addScalar("Loss/train", mean, state.step);
        writer.addScalar("LearningRate", lr, state.step);
        writer.addScalar("GradNorm", gradNorm, state.step);
        writer.addScalar("Throughput/tokens_per_sec", tokPerSec, state.step);
        writer.addScalar("Throughput/padded_tokens_per_sec", paddedTokens / seconds, state.step);
        metrics.log(state.step, { split: "train", loss: mean, lr, gradNorm, tokensPerSec: tokPerSec, epoch: epoch + 1 });
        if (!process.stderr.isTTY) log(`step ${state.step}: training loss ${mean.toFixed(4)} (mean of the last ${stepsSinceLog} steps), lr ${lr.toExponential(2)}, ${formatRate(tokPerSec)} tokens/s`);
        lossSinceLog = 0;
        stepsSinceLog = 0;
      }
      if (state.step % config.evalSteps === 0 || state.step === totalSteps) {
        if (evaluateAndCheckpoint()) stoppedBy = "early-stopping";
        lastValid = state.validHistory[state.validHistory.length - 1]!.loss;
      }
      bar.update(state.step, `epoch ${epoch + 1}/${config.epochs} loss ${stepLoss.toFixed(3)} val ${Number.isNaN(lastValid) ? "-" : lastValid.toFixed(3)} ${formatRate(tokPerSec)} tok/s`);
    }
    bar.stop();
    if (stoppedBy !== "schedule" && state.validHistory.at(-1)?.step !== state.step) saveLatest();
    if (stoppedBy === "early-stopping") log(`early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);
    if (stoppedBy === "signal") log(`stopped at step ${state.step}; resume with: mlm train --resume ${runDir}`);
    writer.close();
    metrics.close();

    const stepsRun = state.step - stepsAtStart;
    const secondsRun = state.trainSeconds - secondsAtStart;
    return {
      runDir,
      steps: state.step,
      epochs: epoch + 1,
      bestValidLoss: state.bestValidLoss,
      bestStep: state.bestStep,
      evaluations,
      msPerStep: stepsRun > 0 ? (1000 * secondsRun) / stepsRun : Number.NaN,
      tokensPerSecond: secondsRun > 0 ? (state.tokensSeen - tokensAtStart) / secondsRun : Number.NaN,
      wallSeconds: (Date.now() - wallStart) / 1000,
      stoppedBy,
    };
  } finally {
    if (options.backend === undefined) backend.dispose();
  }
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

/** Buffers sized once for the largest batch of either split (see ModelCapacity). */
function modelCapacity(splits: TokenizedSplit[], config: TrainConfig, packMode: PackMode): ModelCapacity {
  let maxRows = 0;
  for (const split of splits) {
    const lengths = new Int32Array(split.count);
    for (let i = 0; i < split.count; i++) lengths[i] = split.offsets[i + 1]! - split.offsets[i]!;
    lengths.sort();
    const B = Math.min(config.batchSize, split.count);
    const longest = config.padToMax ? config.maxLen : lengths[lengths.length - 1]!;
    // Unpadded rows: at most the B longest sentences; padded rows: B times the padded width.
    let rows = 0;
    if (packMode === "padded") rows = B * longest;
    else for (let i = lengths.length - B; i < lengths.length; i++) rows += lengths[i]!;
    maxRows = Math.max(maxRows, rows);
  }
  return { maxRows, maxSeqs: config.batchSize, maxHeadRows: maxRows };
}

/** acc = (first ? 0 : acc) + scale * g, over the whole flat gradient. */
function addScaled(acc: Float32Array, g: Float32Array, scale: number, first: boolean): void {
  if (first) for (let i = 0; i < acc.length; i++) acc[i] = scale * g[i]!;
  else for (let i = 0; i < acc.length; i++) acc[i]! += scale * g[i]!;
}

/** On resume, drops the metrics logged after the checkpoint: they are recomputed identically. */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readMetrics(path).filter((r) => r.step <= step);
  writeFileAtomic(path, kept.map((r) => JSON.stringify(r)).join("\n") + (kept.length > 0 ? "\n" : ""));
}

function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

