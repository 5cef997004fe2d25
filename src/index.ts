/**
 * mlm-ts: train and use small BERT-style masked language models in TypeScript.
 *
 * It implements the system of the tutorial "Training your First Language Model" (JAX/Haiku, Hugging
 * Face tokenizers, optax): Tatoeba English, a BPE tokenizer, a 6-layer encoder trained with 15% of the
 * tokens masked. Comments call it "the tutorial" and state its choices where the code follows them.
 *
 * The main entry points are exported here by name; each area is also exported whole as a namespace
 * (and as its own package path, e.g. "mlm-ts/tokenizer").
 *
 * @example
 *   import { resolveConfig, train, loadModel, fillMask } from "mlm-ts";
 *   const run = await train(resolveConfig({ maxSteps: 300, outDir: "runs/demo" }));
 *   const loaded = await loadModel(run.runDir);
 *   console.log(fillMask(loaded, "Tom is [MASK] than Mary."));
 *   loaded.dispose();
 */
export { DEFAULT_CONFIG, resolveConfig, parseConfigArgs, type TrainConfig } from "./config/index.js";
export { train, describeSummary, NonFiniteError, type TrainOptions, type TrainSummary } from "./train/trainer.js";
export {
  finetune,
  resumeFinetune,
  FINETUNE_DEFAULTS,
  type FinetuneRequest,
  type FinetuneSummary,
} from "./train/finetune.js";
export {
  Tokenizer,
  trainBpe,
  trainBpeFromSentences,
  TUTORIAL_TOKENIZER,
  type BpeTrainOptions,
  type Encoding,
} from "./tokenizer/index.js";
export {
  loadModel,
  fillMask,
  fillMasks,
  evaluateCorpus,
  classify,
  embed,
  type LoadedModel,
  type LoadedClassifier,
  type FillMaskPrediction,
  type CorpusEvaluation,
} from "./pipelines/index.js";
export { MlmModel, buildModel, type ModelConfig } from "./model/index.js";
export { createBackend, type BackendKind } from "./engine/create.js";
export { TsBackend, Rng, type Backend } from "./engine/index.js";
export {
  readCorpus,
  sampleAndSplit,
  downloadFile,
  MlmDataLoader,
  batchOf,
  type Batch,
  bundledCorpusPath,
  TATOEBA_ATTRIBUTION,
} from "./data/index.js";
export { SummaryWriter, readScalars } from "./track/index.js";
export { MetricsLog } from "./run/index.js";

export * as data from "./data/index.js";
export * as tokenizer from "./tokenizer/index.js";
export * as engine from "./engine/index.js";
export * as model from "./model/index.js";
export * as track from "./track/index.js";
export * as pipelines from "./pipelines/index.js";
export * as run from "./run/index.js";
export * as util from "./util/index.js";
export * as platform from "./platform/index.js";
