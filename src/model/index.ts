/** Public API of the model: config, parameter layout, the MlmModel itself and its builder. */
export { MODEL_KEYS, modelConfigOf } from "./config.js";
export type { ModelConfig } from "./config.js";
export { paramLayout, initParams, tensorViews, loadTensors, decayMask, findSpec } from "./params.js";
export type { ParamSpec, NamedTensor } from "./params.js";
export { MlmModel } from "./model.js";
export { buildModel, capacityFor, type BuildModelOptions, type BuiltModel } from "./build.js";
export type { ModelCapacity, PassOptions, StepResult, EvalResult } from "./model.js";
export { positionalEncoding } from "./layers.js";
export { evaluateSplit, firstBatches, metricsFromSums } from "./evaluate.js";
export type { EvalMetrics, EvalOptions, FixedBatches } from "./evaluate.js";
