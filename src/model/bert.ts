/**
 * Which model options make Hugging Face's BERT (BertModel): LayerNorm of token + learned position
 * embeddings with no sqrt(dModel) factor, and post-norm blocks. The activation (ReLU or GELU) and a
 * tied or own output layer are BERT's either way (config.json's `hidden_act`, `tie_word_embeddings`).
 * The `bert` recipe trains exactly this; fine-tuning such a run takes BERT's own classifier head by
 * default (classifier-heads.ts), and `mlm export --format hf` writes both in BERT's names.
 *
 * @example
 *   bertMismatch(modelConfigOf({ embedding: "layernorm", positions: "learned" })); // null: BERT's
 *   bertMismatch(modelConfigOf({})); // { key: "embedding", value: "layernorm", ... }
 */
import type { ModelConfig } from "./config.js";

/** An option BERT fixes, with BERT's value and why another value is not BERT. */
export interface BertOption {
  key: keyof ModelConfig;
  value: unknown;
  bert: string;
}

/** The model options BERT fixes. */
export const BERT_OPTIONS: readonly BertOption[] = [
  { key: "embedding", value: "layernorm", bert: "BERT normalises token + position embeddings, unscaled" },
  { key: "positions", value: "learned", bert: "BERT learns its position embeddings" },
  { key: "norm", value: "post", bert: "BERT normalises after each residual sum" },
];

/** The first option of `cfg` that is not BERT's, or null when the architecture is exactly BERT's. */
export function bertMismatch(cfg: ModelConfig): BertOption | null {
  return BERT_OPTIONS.find(({ key, value }) => cfg[key] !== value) ?? null;
}
