/**
 * The model options the exports carry, and the check that refuses any other: a model key that training
 * offers but the ONNX graph, the PyTorch classes or the import do not know yet must never export a
 * graph that silently computes something else. Every model key is listed here with the values the
 * exports support; a key missing from the list exports only at its default (the tutorial's) value.
 *
 * @example
 *   checkExportable(modelConfigOf({ norm: "pre", activation: "gelu", tieOutput: true }), "ONNX export"); // passes
 */
import { DEFAULT_CONFIG } from "../config/index.js";
import { MODEL_KEYS, type ModelConfig } from "../model/index.js";

type ModelKey = (typeof MODEL_KEYS)[number];

/**
 * The model keys the exports support: "any" for a size, a rate or an init scale (any valid value), else
 * the values supported. Dropout and the embedding's init scale shape training only.
 */
export const EXPORTED_MODEL_OPTIONS: Readonly<Partial<Record<ModelKey, "any" | readonly unknown[]>>> = {
  vocabSize: "any",
  dModel: "any",
  numLayers: "any",
  numHeads: "any",
  dFF: "any",
  maxLen: "any",
  lnEps: "any",
  dropout: "any",
  dropoutEmbedding: "any",
  dropoutAttention: "any",
  dropoutHidden: "any",
  dropoutResidual: "any",
  embedInitStd: "any",
  positions: ["sinusoidal", "scaled-sinusoidal", "learned"],
  norm: ["post", "pre"],
  activation: ["relu", "gelu"],
  tieOutput: [false, true],
  embedding: ["scaled", "layernorm"],
};

/**
 * Throws a one-line error, `what` first, naming the first model key whose value the exports do not
 * support (a key they do not know, at a value other than its default, included).
 */
export function checkExportable(cfg: ModelConfig, what: string): void {
  const values = cfg as unknown as Record<string, unknown>;
  for (const key of MODEL_KEYS) {
    const supported = EXPORTED_MODEL_OPTIONS[key];
    const value = values[key];
    if (supported === "any") continue;
    if (supported === undefined) {
      if (value === DEFAULT_CONFIG[key]) continue;
      throw new Error(
        `${what}: the model option "${key}" = ${JSON.stringify(value)} is not supported by the exports yet (only its default ${JSON.stringify(DEFAULT_CONFIG[key])})`,
      );
    }
    if (!supported.includes(value))
      throw new Error(
        `${what}: the model option "${key}" = ${JSON.stringify(value)} is not supported (supported: ${supported.map((v) => JSON.stringify(v)).join(", ")})`,
      );
  }
}
