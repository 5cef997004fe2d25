/** Public API of the model: config, parameter layout, batches and the MlmModel itself. */
export { MODEL_KEYS, modelConfigOf } from "./config.js";
export type { ModelConfig } from "./config.js";
export { paramLayout, initParams, tensorViews, loadTensors, decayMask, findSpec } from "./params.js";
export type { ParamSpec, NamedTensor } from "./params.js";
export { packBatch, emptyPacked } from "./batch.js";
export type { PaddedBatch, PackedBatch, PackMode } from "./batch.js";
export { MlmModel } from "./model.js";
export type { ModelCapacity, PassOptions, StepResult, EvalResult } from "./model.js";
export { positionalEncoding } from "./layers.js";
export { evaluateSplit, metricsFromSums } from "./evaluate.js";
export type { EvalMetrics, EvalOptions, FixedBatches } from "./evaluate.js";
