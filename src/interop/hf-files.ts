/**
 * The files that sit beside an exported model for Hugging Face tools (transformers.js, transformers'
 * `PreTrainedTokenizerFast`) and ONNX Runtime users: `config.json` and `tokenizer_config.json`, and
 * the limits of JavaScript tokenizers worth a warning.
 *
 * transformers.js chooses its model class from config.json's `model_type`; "bert" with
 * `BertForMaskedLM` makes its fill-mask pipeline feed `input_ids` and `attention_mask` (the graph's
 * inputs; it feeds only the inputs a graph declares) and read `logits`. The architecture itself is the
 * graph's: the `mlm_ts` block records what it is (`architecture`, in words, and every model option
 * under `model`); the BERT fields that can say the same (`hidden_act`, `tie_word_embeddings`) follow
 * the options too.
 */
import type { TrainConfig } from "../config/index.js";
import type { ModelConfig } from "../model/index.js";
import type { Tokenizer } from "../tokenizer/index.js";

/** The special tokens a masked language model's tokenizer configuration names. */
const SPECIAL_TOKENS = {
  pad_token: "[PAD]",
  cls_token: "[CLS]",
  sep_token: "[SEP]",
  mask_token: "[MASK]",
  unk_token: "[UNK]",
} as const;

/**
 * config.json in the shape transformers.js reads (BERT's field names), with mlm-ts's own description
 * of the architecture under `mlm_ts`.
 *
 * @example
 *   const loaded = await loadModel("runs/demo");
 *   const json = transformersConfig(loaded.modelConfig, loaded.config, loaded.tokenizer, "0.1.0");
 */
export function transformersConfig(
  model: ModelConfig,
  config: TrainConfig,
  tokenizer: Tokenizer,
  version: string,
): Record<string, unknown> {
  return {
    architectures: ["BertForMaskedLM"],
    model_type: "bert",
    vocab_size: model.vocabSize,
    hidden_size: model.dModel,
    num_hidden_layers: model.numLayers,
    num_attention_heads: model.numHeads,
    intermediate_size: model.dFF,
    // transformers' name of the tanh-approximated GELU
    hidden_act: model.activation === "gelu" ? "gelu_new" : "relu",
    max_position_embeddings: model.maxLen,
    tie_word_embeddings: model.tieOutput,
    layer_norm_eps: model.lnEps,
    pad_token_id: tokenizer.tokenToId(SPECIAL_TOKENS.pad_token) ?? null,
    mlm_ts: {
      version,
      architecture: architectureSummary(model),
      model,
      training: withoutPaths(config),
    },
  };
}

/**
 * The architecture in words, e.g. "pre-norm encoder with a final LayerNorm, GELU (tanh) feed-forward,
 * embedding * sqrt(d_model) + learned positions, head dense-GELU (tanh)-LayerNorm-output tied to the
 * embedding, with its own bias".
 *
 * @example
 *   architectureSummary(modelConfigOf({ norm: "pre", activation: "gelu" })); // "pre-norm encoder with a final LayerNorm, GELU (tanh) ..."
 */
export function architectureSummary(model: ModelConfig): string {
  const act = model.activation === "gelu" ? "GELU (tanh)" : "ReLU";
  const encoder = model.norm === "pre" ? "pre-norm encoder with a final LayerNorm" : "post-norm encoder";
  const positions = {
    sinusoidal: "sinusoidal positions",
    "scaled-sinusoidal": "sinusoidal positions * sqrt(d_model)",
    learned: "learned positions",
  }[model.positions];
  const output = model.tieOutput ? "output tied to the embedding, with its own bias" : "output";
  return `${encoder}, ${act} feed-forward, embedding * sqrt(d_model) + ${positions}, head dense-${act}-LayerNorm-${output}`;
}

/** The run's settings without its local paths (corpus, tokenizer, cache, run directory), for a folder that is shared. */
function withoutPaths(config: TrainConfig): Partial<TrainConfig> {
  const { data: _data, tokenizer: _tokenizer, cacheDir: _cache, outDir: _out, ...settings } = config;
  return settings;
}

/** tokenizer_config.json: the tokenizer class, its special tokens and the longest input. */
export function tokenizerConfig(tokenizer: Tokenizer, maxLen: number): Record<string, unknown> {
  const present = Object.fromEntries(
    Object.entries(SPECIAL_TOKENS).filter(([, token]) => tokenizer.tokenToId(token) !== undefined),
  );
  return { tokenizer_class: "PreTrainedTokenizerFast", model_max_length: maxLen, ...present };
}

/**
 * Warnings about the tokenizer for JavaScript users: transformers.js's BPE model ignores
 * `continuing_subword_prefix`, so a tokenizer trained with one (the tutorial's `##`) encodes words
 * split into pieces differently there. Empty when the tokenizer has no prefix.
 */
export function javascriptTokenizerWarnings(tokenizerJson: string): string[] {
  const model = (JSON.parse(tokenizerJson) as { model?: { type?: unknown; continuing_subword_prefix?: unknown } })
    .model;
  const prefix = model?.continuing_subword_prefix;
  if (model?.type !== "BPE" || typeof prefix !== "string" || prefix === "") return [];
  return [
    `the tokenizer is a BPE with continuing_subword_prefix ${JSON.stringify(prefix)}, which JavaScript tokenizers ` +
      `(transformers.js, @huggingface/tokenizers) ignore: words split into pieces encode differently there. ` +
      `For serving in JavaScript, train the tokenizer without it (mlm tokenizer train CORPUS --prefix none --out ` +
      `tokenizer.json, then mlm train --tokenizer tokenizer.json); Python and Rust tokenizers and ONNX Runtime with ` +
      `your own tokenization are unaffected.`,
  ];
}
