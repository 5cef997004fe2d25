/**
 * Model hyper-parameters, with the tutorial's values as defaults.
 */

/** Shape of the encoder and its masked-language-model head. */
export interface ModelConfig {
  /** Number of tokens in the vocabulary (rows of the embedding, columns of the output layer). */
  vocabSize: number;
  /** Width of every token vector (d_model). */
  dModel: number;
  /** Number of encoder blocks. */
  numLayers: number;
  /** Attention heads per block; dModel must be a multiple. */
  numHeads: number;
  /** Hidden width of the feed-forward sub-layer (d_ff). */
  dFF: number;
  /** Dropout probability on embeddings, attention output, FFN hidden and FFN output (training only). */
  dropout: number;
  /** Longest sequence (rows of the positional table). */
  maxLen: number;
  /** Layer-norm epsilon, inside the square root (Haiku's default). */
  lnEps: number;
}

/** The tutorial's model: vocab 25000, d_model 128, 6 layers, 8 heads, d_ff 256, dropout 0.1, length 128. */
export const DEFAULT_CONFIG: Readonly<ModelConfig> = Object.freeze({
  vocabSize: 25000,
  dModel: 128,
  numLayers: 6,
  numHeads: 8,
  dFF: 256,
  dropout: 0.1,
  maxLen: 128,
  lnEps: 1e-5,
});

/**
 * Fills missing fields from `DEFAULT_CONFIG` and checks every value; unknown keys are rejected.
 *
 * @example
 *   const cfg = resolveConfig({ vocabSize: 50, dModel: 16, numLayers: 2, numHeads: 2, dFF: 32 });
 */
export function resolveConfig(partial: Partial<ModelConfig> = {}): ModelConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_CONFIG))
      throw new Error(`model config: unknown key '${key}' (known: ${Object.keys(DEFAULT_CONFIG).join(", ")})`);
  }
  const cfg: ModelConfig = { ...DEFAULT_CONFIG, ...partial };
  const positiveInts: (keyof ModelConfig)[] = ["vocabSize", "dModel", "numLayers", "numHeads", "dFF", "maxLen"];
  for (const key of positiveInts) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`model config: ${key} must be a positive integer, got ${v}`);
  }
  if (cfg.dModel % cfg.numHeads !== 0)
    throw new Error(`model config: dModel (${cfg.dModel}) must be a multiple of numHeads (${cfg.numHeads})`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw new Error(`model config: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (!(cfg.lnEps > 0)) throw new Error(`model config: lnEps must be positive, got ${cfg.lnEps}`);
  return cfg;
}
