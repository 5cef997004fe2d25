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
import { DEFAULT_CONFIG, type TrainConfig } from "../config/index.js";
import type { Backend } from "../engine/backend.js";
import type { BackendKind } from "../engine/create.js";
import { buildModel, type MlmModel, type ModelCapacity, type ModelConfig } from "../model/index.js";
import { platform } from "../platform/index.js";
import { CHECKPOINT_FILES, loadCheckpoint, parseCheckpointConfig, resolveCheckpointDir } from "../run/index.js";
import { Tokenizer } from "../tokenizer/index.js";

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
  const { checkpointDir, runDir } = await resolveCheckpointDir(dir);
  const ckpt = await loadCheckpoint(checkpointDir, { optimizer: false });
  const { path } = platform().storage;
  const configPath = path.join(checkpointDir, CHECKPOINT_FILES.config);
  const tokenizerPath = path.join(checkpointDir, CHECKPOINT_FILES.tokenizer);

  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(ckpt.tokenizerJson);
  } catch (err) {
    throw new Error(`${tokenizerPath}: not valid JSON (${(err as Error).message})`);
  }
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, tokenizerPath);

  const { config, modelConfig } = parseCheckpointConfig(ckpt.config, configPath, tokenizer.vocabSize);
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
    threads: options.threads ?? DEFAULT_CONFIG.threads,
    weights: ckpt.tensors,
    weightsFile: path.join(checkpointDir, CHECKPOINT_FILES.model),
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
