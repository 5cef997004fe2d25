/**
 * The files that sit beside an exported model for Hugging Face tools (transformers.js, transformers'
 * `PreTrainedTokenizerFast`) and ONNX Runtime users: `config.json` and `tokenizer_config.json`, and
 * the limits of JavaScript tokenizers worth a warning.
 *
 * transformers.js chooses its model class from config.json's `model_type`; "bert" with
 * `BertForMaskedLM` makes its fill-mask pipeline feed `input_ids` and `attention_mask` (the graph's
 * inputs; it feeds only the inputs a graph declares) and read `logits`; a classifier's
 * `BertForSequenceClassification` with `id2label` makes its text-classification pipeline softmax
 * `logits` [batch, labels] and name the classes; its feature-extraction pipeline reads
 * `last_hidden_state`. `"transformers.js_config": { "dtype": "fp32" }` makes it load
 * `onnx/model.onnx` on every device: in a browser its wasm device would otherwise ask for an 8-bit
 * `onnx/model_quantized.onnx`, which is not written (docs/serving.md says why). The architecture itself is the
 * graph's: the `mlm_ts` block records what it is (`architecture`, in words, and every model option
 * under `model`); the BERT fields that can say the same (`hidden_act`, `tie_word_embeddings`) follow
 * the options too.
 */
import type { TrainConfig } from "../config/index.js";
import type { ModelConfig } from "../model/index.js";
import type { ClassifierRecord } from "../run/index.js";
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
  classifier: ClassifierRecord | null = null,
): Record<string, unknown> {
  const labels =
    classifier === null
      ? {}
      : {
          id2label: Object.fromEntries(classifier.id2label.map((label, i) => [String(i), label])),
          label2id: Object.fromEntries(classifier.id2label.map((label, i) => [label, i])),
          problem_type: "single_label_classification",
        };
  return {
    architectures: [classifier === null ? "BertForMaskedLM" : "BertForSequenceClassification"],
    model_type: "bert",
    ...labels,
    "transformers.js_config": { dtype: "fp32" },
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
  const embedding =
    model.embedding === "layernorm"
      ? `LayerNorm(embedding + ${positions})`
      : `embedding * sqrt(d_model) + ${positions}`;
  return `${encoder}, ${act} feed-forward, ${embedding}, head dense-${act}-LayerNorm-${output}`;
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
  // No clean-up of spaces on decoding: the tokenizer's own decoder gives the text back as it was cut.
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    model_max_length: maxLen,
    clean_up_tokenization_spaces: false,
    ...present,
  };
}

/**
 * Why JavaScript tokenizers cannot read this tokenizer.json as mlm-ts does, or null when they can:
 * transformers.js's and @huggingface/tokenizers' BPE model ignores `continuing_subword_prefix`, so a
 * tokenizer trained with one (the tutorial's `##`) splits words into other pieces there (single
 * letters, mostly). The line says what to do instead.
 */
export function javascriptTokenizerProblem(tokenizerJson: string): string | null {
  const model = (JSON.parse(tokenizerJson) as { model?: { type?: unknown; continuing_subword_prefix?: unknown } })
    .model;
  const prefix = model?.continuing_subword_prefix;
  if (model?.type !== "BPE" || typeof prefix !== "string" || prefix === "") return null;
  return (
    `the tokenizer is a BPE with continuing_subword_prefix ${JSON.stringify(prefix)}, which JavaScript tokenizers ` +
    `(transformers.js, @huggingface/tokenizers) ignore: they would cut words into other pieces than the model ` +
    `was trained on. Train with --tokenizer-style end-of-word (the fast recipe's) for serving in JavaScript, ` +
    `or pass --any-tokenizer to export anyway (Python and Rust tokenizers, and ONNX Runtime with your own tokenization, ` +
    `read it correctly)`
  );
}
