/**
 * Loading a trained model for inference: from a run directory (its best/ checkpoint, else its newest
 * last-* one) or from a checkpoint directory itself, into a tokenizer plus an MlmModel without
 * dropout, on the backend asked for.
 *
 * The model's buffers are sized for small inference batches (`maxBatch` sentences of up to maxLen
 * tokens, a head over at most maxLen rows: one text's masks). Pipelines that need more, such as a
 * corpus evaluation with batches of 64, call `ensureCapacity`, which replaces the model by a larger
 * one holding the same weights (MlmModel.grownTo: meant to happen once per loaded model).
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolveConfig, type TrainConfig } from "../config.js";
import type { Backend } from "../engine/backend.js";
import type { BackendKind } from "../engine/create.js";
import {
  buildModel,
  resolveConfig as resolveModelShape,
  type MlmModel,
  type ModelCapacity,
  type ModelConfig,
} from "../model/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { CHECKPOINT_FILES, loadCheckpoint } from "../train/checkpoint.js";
import { listLastCheckpoints, RUN_FILES } from "../train/run-dir.js";
import { modelConfigFrom } from "../train/prepare.js";

export interface LoadModelOptions {
  /** Kernels: "ts" (plain TypeScript, default) or "wasm" (SIMD on worker threads). */
  backend?: BackendKind;
  /** Worker threads of the wasm backend; 0 = one per core. */
  threads?: number;
  /** Sentences per inference batch the buffers are sized for. Default 8. */
  maxBatch?: number;
}

/** A model ready for inference. Call `dispose()` when done (it stops the wasm backend's threads). */
export interface LoadedModel {
  tokenizer: Tokenizer;
  /** The encoder and its head, dropout off. Replaced by `ensureCapacity` when it grows. */
  model: MlmModel;
  /** The run's training configuration (from the checkpoint's config.json). */
  config: TrainConfig;
  /** The model's shape (dropout 0). */
  modelConfig: ModelConfig;
  backend: Backend;
  /** The checkpoint directory the weights came from. */
  checkpointDir: string;
  /** The run directory when one was given (or the checkpoint's parent holds the run files), else null. */
  runDir: string | null;
  /** Makes `model` able to run batches of this capacity (same weights); returns it. */
  ensureCapacity(capacity: ModelCapacity): MlmModel;
  /** Releases the backend (when loadModel created it). */
  dispose(): void;
}

/**
 * Finds the checkpoint of `dir`: `dir` itself when it holds model.safetensors, else `dir/best`, else
 * the newest `dir/last-*`. Throws a one-line error naming `dir` when there is none.
 *
 * @example
 *   resolveCheckpointDir("runs/tatoeba");        // { checkpointDir: "runs/tatoeba/best", runDir: "runs/tatoeba" }
 *   resolveCheckpointDir("runs/tatoeba/best");   // the same
 */
export function resolveCheckpointDir(dir: string): { checkpointDir: string; runDir: string | null } {
  if (!existsSync(dir))
    throw new Error(`${dir}: no such directory (expected a run directory or a checkpoint directory)`);
  if (!statSync(dir).isDirectory())
    throw new Error(`${dir}: not a directory (expected a run directory or a checkpoint directory)`);
  if (existsSync(join(dir, CHECKPOINT_FILES.model))) {
    const parent = resolve(dir, "..");
    return { checkpointDir: dir, runDir: existsSync(join(parent, RUN_FILES.config)) ? parent : null };
  }
  const best = join(dir, RUN_FILES.best);
  if (existsSync(join(best, CHECKPOINT_FILES.model))) return { checkpointDir: best, runDir: dir };
  const lasts = listLastCheckpoints(dir);
  if (lasts.length > 0) return { checkpointDir: lasts[lasts.length - 1], runDir: dir };
  throw new Error(
    `${dir}: not a run directory (no ${RUN_FILES.best}/ or last-*/ checkpoint) nor a checkpoint directory (no ${CHECKPOINT_FILES.model})`,
  );
}

/**
 * Loads the tokenizer and weights of a run or checkpoint directory.
 *
 * @example
 *   import { loadModel } from "mlm-ts/pipelines";
 *   const loaded = await loadModel("runs/2026-11-28_10-00-00");   // uses runs/.../best
 *   console.log(loaded.checkpointDir, loaded.modelConfig.numLayers, loaded.tokenizer.vocabSize);
 *   // runs/2026-11-28_10-00-00/best 6 25000
 *   loaded.dispose();
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { checkpointDir, runDir } = resolveCheckpointDir(dir);
  const ckpt = loadCheckpoint(checkpointDir, { optimizer: false });
  const configPath = join(checkpointDir, CHECKPOINT_FILES.config);
  const tokenizerPath = join(checkpointDir, CHECKPOINT_FILES.tokenizer);

  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(ckpt.tokenizerJson);
  } catch (err) {
    throw new Error(`${tokenizerPath}: not valid JSON (${(err as Error).message})`);
  }
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, tokenizerPath);

  const { model: savedModel, ...trainFields } = ckpt.config;
  const config = resolveConfig(trainFields, configPath);
  const modelConfig = readModelConfig(savedModel, config, tokenizer, configPath);
  // Encodings are truncated to the model's length, as in training (fill-mask counts tokens first).
  tokenizer.setTruncation(modelConfig.maxLen);

  const maxBatch = options.maxBatch ?? 8;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1))
    throw new Error(`loadModel: maxBatch must be a positive integer, got ${maxBatch}`);
  const L = modelConfig.maxLen;
  const { model, backend, dispose } = await buildModel({
    config: modelConfig,
    capacity: { maxRows: L * maxBatch, maxSeqs: maxBatch, maxHeadRows: L },
    backend: options.backend ?? "ts",
    threads: options.threads ?? 0,
    weights: ckpt.tensors,
  });
  const loaded: LoadedModel = {
    tokenizer,
    model,
    config,
    modelConfig,
    backend,
    checkpointDir,
    runDir,
    ensureCapacity(capacity) {
      loaded.model = loaded.model.grownTo(capacity);
      return loaded.model;
    },
    dispose,
  };
  return loaded;
}

/** The checkpoint's `model` entry (written by the trainer), checked against the tokenizer; dropout forced to 0. */
function readModelConfig(saved: unknown, config: TrainConfig, tokenizer: Tokenizer, source: string): ModelConfig {
  let shape: Record<string, unknown>;
  if (saved === undefined) {
    // A checkpoint without the entry: the shape follows from the training settings and the tokenizer.
    shape = { ...modelConfigFrom(config, tokenizer.vocabSize) };
  } else if (typeof saved === "object" && saved !== null && !Array.isArray(saved)) {
    shape = saved as Record<string, unknown>;
  } else {
    throw new Error(
      `${source}: "model" must be an object (vocabSize, dModel, numLayers, numHeads, dFF, dropout, maxLen)`,
    );
  }
  let modelConfig: ModelConfig;
  try {
    modelConfig = resolveModelConfig({ ...shape, dropout: 0 });
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  if (modelConfig.vocabSize !== tokenizer.vocabSize) {
    throw new Error(
      `${source}: the model has a vocabulary of ${modelConfig.vocabSize} tokens, its tokenizer.json ${tokenizer.vocabSize}`,
    );
  }
  return modelConfig;
}

/** The model package's config resolution (defaults, unknown keys, ranges), after a type check of each field. */
function resolveModelConfig(shape: Record<string, unknown>): ModelConfig {
  const out: Partial<Record<keyof ModelConfig, number>> = {};
  for (const [key, value] of Object.entries(shape)) {
    if (typeof value !== "number") throw new Error(`model.${key} must be a number, got ${JSON.stringify(value)}`);
    out[key as keyof ModelConfig] = value;
  }
  return resolveModelShape(out);
}
