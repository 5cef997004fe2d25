/**
 * Loading a trained model for inference: from a run directory (its best/ checkpoint, else its newest
 * last-* one) or from a checkpoint directory itself, into a tokenizer plus the model without dropout,
 * on the backend asked for. The checkpoint's config.json says its task (run/task-record.ts): a masked
 * language model (MlmModel, "fill-mask") or a classifier (ClassifierModel, "text-classification").
 * `loadModel(dir)` expects a masked language model and names the task it found otherwise;
 * `{ task: "text-classification" }` asks for a classifier, `{ task: "auto" }` takes either.
 *
 * The model's buffers are sized for small inference batches (`maxBatch` sentences of up to maxLen
 * tokens, a head over at most maxLen rows: one text's masks). Pipelines that need more, such as a
 * corpus evaluation with batches of 64, call `ensureCapacity`, which replaces the model by a larger
 * one holding the same weights (MlmModel.grownTo: meant to happen once per loaded model).
 */
import { DEFAULT_CONFIG, type TrainConfig } from "../config/index.js";
import type { Backend } from "../engine/backend.js";
import type { CpuBackendKind } from "../engine/create.js";
import { buildModel, ClassifierModel, type MlmModel, type ModelCapacity, type ModelConfig } from "../model/index.js";
import { platform } from "../platform/index.js";
import { createBackend } from "../engine/create.js";
import {
  CHECKPOINT_FILES,
  loadLocatedCheckpoint,
  parseCheckpointConfig,
  resolveCheckpointDir,
  splitTaskRecord,
  type ClassifierRecord,
  type TaskName,
} from "../run/index.js";
import { Tokenizer } from "../tokenizer/index.js";

export interface LoadModelOptions {
  /** Kernels: "ts" (plain TypeScript, default) or "wasm" (SIMD on worker threads). */
  backend?: CpuBackendKind;
  /** Worker threads of the wasm backend; 0 = one per core. */
  threads?: number;
  /** Sentences per inference batch the buffers are sized for. Default 8. */
  maxBatch?: number;
  /** The task expected: "fill-mask" (default), "text-classification", or "auto" (the checkpoint's). */
  task?: TaskName | "auto";
}

/** A masked language model ready for inference. Call `dispose()` when done (it stops the wasm backend's threads). */
export interface LoadedModel {
  task: "fill-mask";
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

/** A classifier ready for inference (see `LoadedModel` for the shared fields). */
export interface LoadedClassifier {
  task: "text-classification";
  tokenizer: Tokenizer;
  /** The encoder and the classification head, dropout off; sized for `maxBatch` sentences. */
  model: ClassifierModel;
  /** Class names in class-id order, and where the encoder came from. */
  classifier: ClassifierRecord;
  config: TrainConfig;
  modelConfig: ModelConfig;
  backend: Backend;
  checkpointDir: string;
  runDir: string | null;
  /** Sentences per batch the model's buffers hold. */
  maxBatch: number;
  dispose(): void;
}

/** Either kind of loaded model. */
export type AnyLoadedModel = LoadedModel | LoadedClassifier;

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
export async function loadModel(dir: string, options?: LoadModelOptions & { task?: "fill-mask" }): Promise<LoadedModel>;
export async function loadModel(
  dir: string,
  options: LoadModelOptions & { task: "text-classification" },
): Promise<LoadedClassifier>;
export async function loadModel(dir: string, options: LoadModelOptions & { task: "auto" }): Promise<AnyLoadedModel>;
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<AnyLoadedModel> {
  // Located again when a trainer pruned it while it was read (a run in training: loadLocatedCheckpoint).
  let runDir: string | null = null;
  const { dir: checkpointDir, checkpoint: ckpt } = await loadLocatedCheckpoint(
    async () => {
      const found = await resolveCheckpointDir(dir);
      runDir = found.runDir;
      return found.checkpointDir;
    },
    { optimizer: false },
  );
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

  const { task, classifier } = splitTaskRecord(ckpt.config, configPath);
  const wanted = options.task ?? "fill-mask";
  if (wanted !== "auto" && wanted !== task)
    throw new Error(`${checkpointDir}: a ${task} model, not a ${wanted} one (its config.json says so)`);
  const { config, modelConfig } = parseCheckpointConfig(ckpt.config, configPath, tokenizer.vocabSize);
  // Encodings are truncated to the model's length, as in training (fill-mask counts tokens first).
  tokenizer.setTruncation(modelConfig.maxLen);

  const maxBatch = options.maxBatch ?? 8;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1))
    throw new Error(`loadModel: maxBatch must be a positive integer, got ${maxBatch}`);
  const L = modelConfig.maxLen;
  if (classifier !== null) {
    const backend = await createBackend(options.backend ?? "ts", options.threads ?? DEFAULT_CONFIG.threads);
    try {
      const model = new ClassifierModel(
        backend,
        modelConfig,
        { numLabels: classifier.id2label.length, pooling: classifier.pooling, head: classifier.head },
        { maxRows: L * maxBatch, maxSeqs: maxBatch },
      );
      model.loadTensors(ckpt.tensors);
      const dispose = (): void => backend.dispose();
      return {
        task: "text-classification",
        tokenizer,
        model,
        classifier,
        config,
        modelConfig,
        backend,
        checkpointDir,
        runDir,
        maxBatch,
        dispose,
      };
    } catch (err) {
      backend.dispose();
      throw new Error(`${path.join(checkpointDir, CHECKPOINT_FILES.model)}: ${(err as Error).message}`);
    }
  }
  const { model, backend, dispose } = await buildModel({
    config: modelConfig,
    capacity: { maxRows: L * maxBatch, maxSeqs: maxBatch, maxHeadRows: L },
    backend: options.backend ?? "ts",
    threads: options.threads ?? DEFAULT_CONFIG.threads,
    weights: ckpt.tensors,
    weightsFile: path.join(checkpointDir, CHECKPOINT_FILES.model),
  });
  const loaded: LoadedModel = {
    task: "fill-mask",
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
