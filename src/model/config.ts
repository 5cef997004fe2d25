/**
 * The model's shape: the keys of the configuration table that the encoder and its head need. Their
 * defaults (the tutorial's model: vocabulary 25000, d_model 128, 6 layers, 8 heads, d_ff 256, dropout
 * 0.1, length 128), ranges and rules (d_model a multiple of the heads) are the table's.
 */
import { closest } from "../config/fields.js";
import { pickKeys, resolveConfig } from "../config/resolve.js";
import type { TrainConfig } from "../config/table.js";

/** The configuration keys that shape the model. */
export const MODEL_KEYS = [
  "vocabSize",
  "dModel",
  "numLayers",
  "numHeads",
  "dFF",
  "dropout",
  "dropoutEmbedding",
  "dropoutAttention",
  "dropoutHidden",
  "dropoutResidual",
  "maxLen",
  "lnEps",
  "embedInitStd",
  "positions",
  "embedding",
  "norm",
  "activation",
  "tieOutput",
] as const satisfies readonly (keyof TrainConfig)[];

/** Shape of the encoder and its masked-language-model head (vocabSize: the tokenizer's vocabulary). */
export type ModelConfig = Pick<TrainConfig, (typeof MODEL_KEYS)[number]>;

/** Dropout probability at each of its four places (a place's own key, else `dropout`). */
export interface DropoutRates {
  embedding: number;
  attention: number;
  hidden: number;
  residual: number;
}

/** The dropout rates of a model configuration. */
export function dropoutRates(cfg: ModelConfig): DropoutRates {
  return {
    embedding: cfg.dropoutEmbedding ?? cfg.dropout,
    attention: cfg.dropoutAttention ?? cfg.dropout,
    hidden: cfg.dropoutHidden ?? cfg.dropout,
    residual: cfg.dropoutResidual ?? cfg.dropout,
  };
}

/**
 * A checked model shape from some of its keys, the others from the table's defaults; keys that are
 * not the model's are refused. `source` names where the values came from, for error messages.
 *
 * @example
 *   const cfg = modelConfigOf({ vocabSize: 50, dModel: 16, numLayers: 2, numHeads: 2, dFF: 32 });
 */
export function modelConfigOf(values: Readonly<Record<string, unknown>> = {}, source = "model config"): ModelConfig {
  for (const key of Object.keys(values)) {
    if ((MODEL_KEYS as readonly string[]).includes(key)) continue;
    const near = closest(key, MODEL_KEYS);
    throw new Error(
      `${source}: unknown key "${key}" (${near === null ? `model keys: ${MODEL_KEYS.join(", ")}` : `did you mean "${near}"?`})`,
    );
  }
  return pickKeys(resolveConfig(values, source), MODEL_KEYS);
}
