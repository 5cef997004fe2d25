/**
 * Using a trained model: load a run or checkpoint, fill in [MASK] tokens, evaluate on a corpus.
 *
 * @example
 *   import { loadModel, fillMask, evaluateCorpus } from "mlm-ts/pipelines";
 *   const loaded = await loadModel("runs/tatoeba", { backend: "wasm" });
 *   fillMask(loaded, "I like [MASK].");                       // top 5 {score, token, token_str, sequence}
 *   await evaluateCorpus(loaded, "data/tatoeba-en.txt", { sample: 0.01 }); // {loss, perplexity, accuracy, top5, ...}
 *   loaded.dispose();
 */
export { loadModel, type LoadModelOptions, type LoadedModel } from "./load-model.js";
export { resolveCheckpointDir } from "../run/index.js";
export {
  FILL_MASK_OPTIONS,
  fillMask,
  fillMasks,
  softmaxInto,
  type FillMaskOptions,
  type FillMaskPrediction,
} from "./fill-mask.js";
export {
  EVALUATE_CORPUS_OPTIONS,
  evaluateCorpus,
  evaluateRunValidation,
  type EvaluateCorpusOptions,
  type CorpusEvaluation,
} from "./evaluate-corpus.js";
export type { LoadedClassifier, AnyLoadedModel } from "./load-model.js";
export {
  CLASSIFY_OPTIONS,
  EMBED_OPTIONS,
  classify,
  embed,
  type ClassifyOptions,
  type EmbedOptions,
  type ClassificationOutput,
  type Embeddings,
  type TextInput,
} from "./text-classification.js";
export { evaluateLabelled } from "./evaluate-labelled.js";
