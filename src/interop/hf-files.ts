/**
 * The files that sit beside an exported model for Hugging Face tools (transformers.js, transformers'
 * `PreTrainedTokenizerFast`) and ONNX Runtime users: `config.json` and `tokenizer_config.json`, and
 * the limits of JavaScript tokenizers worth a warning.
 *
 * transformers.js chooses its model class from config.json's `model_type`: its fill-mask and
 * text-classification pipelines look the type up in their own tables (bert, roberta, electra, ...)
 * and refuse a type they do not list ("Unsupported model type"), so every export says "bert". Its
 * BERT classes only run the graph: the fill-mask one feeds `input_ids` and `attention_mask` (the
 * graph's inputs; it feeds only the inputs a graph declares) and reads `logits`; the
 * text-classification one softmaxes `logits` [batch, labels] and names the classes from `id2label`;
 * its feature-extraction pipeline reads `last_hidden_state`. `architectures` names BERT's classes
 * (`BertForMaskedLM`, `BertForSequenceClassification`) only for a model that is exactly BERT's (the
 * bert recipe, with BERT's classifier head): any other names mlm-ts's (`MlmTsForMaskedLM`,
 * `MlmTsForSequenceClassification`, which transformers.js resolves by `model_type` as an encoder
 * with one model.onnx), `mlm_ts.bert` is false, `mlm_ts.notBert` says what differs, and the export
 * warns (`notBertNote`). `"transformers.js_config": { "dtype": "fp32" }` makes it load
 * `onnx/model.onnx` on every device: in a browser its wasm device would otherwise ask for an 8-bit
 * `onnx/model_quantized.onnx`, which is not written (docs/serving.md says why). The architecture itself is the
 * graph's: the `mlm_ts` block records what it is (`architecture`, in words, and every model option
 * under `model`); the BERT fields that can say the same (`hidden_act`, `tie_word_embeddings`) follow
 * the options too.
 */
import type { TrainConfig } from "../config/index.js";
import { bertMismatch, type ModelConfig } from "../model/index.js";
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
  const labels = classifier === null ? {} : labelFields(classifier);
  const notBert = notBertReasons(model, classifier);
  const family = notBert.length === 0 ? "Bert" : "MlmTs";
  return {
    architectures: [`${family}${classifier === null ? "ForMaskedLM" : "ForSequenceClassification"}`],
    // transformers.js's fill-mask and text-classification pipelines accept only the types they list
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
      bert: notBert.length === 0,
      notBert,
      architecture: architectureSummary(model),
      model,
      training: withoutPaths(config),
    },
  };
}

/**
 * A classifier's labels in Hugging Face's config fields: id2label (keys "0" .. "N-1"), label2id, and
 * its problem type.
 */
export function labelFields(classifier: ClassifierRecord): Record<string, unknown> {
  return {
    id2label: Object.fromEntries(classifier.id2label.map((label, i) => [String(i), label])),
    label2id: Object.fromEntries(classifier.id2label.map((label, i) => [label, i])),
    problem_type: "single_label_classification",
  };
}

/**
 * What makes the model other than Hugging Face's BERT, one phrase each (none for the bert recipe's
 * model, with BERT's classifier head on [CLS] for a classifier).
 *
 * @example
 *   notBertReasons(modelConfigOf({}), null); // ['the model option "embedding" is "scaled", not BERT\'s "layernorm" (...)', ...]
 */
export function notBertReasons(model: ModelConfig, classifier: ClassifierRecord | null): string[] {
  const reasons: string[] = [];
  const mismatch = bertMismatch(model);
  if (mismatch !== null) {
    const { key, value, bert } = mismatch;
    reasons.push(
      `the model option "${key}" is ${JSON.stringify(model[key])}, not BERT's ${JSON.stringify(value)} (${bert})`,
    );
  }
  if (classifier !== null && classifier.head !== "bert")
    reasons.push(
      "the classifier head is mlm-ts's tutorial head (dense, activation, LayerNorm, out), not BERT's pooler",
    );
  if (classifier !== null && classifier.pooling !== "cls") reasons.push("the classifier pools the mean, not [CLS]");
  return reasons;
}

/** The export's warning for a model that is not BERT's, or null for one that is. */
export function notBertNote(model: ModelConfig, classifier: ClassifierRecord | null): string | null {
  const reasons = notBertReasons(model, classifier);
  if (reasons.length === 0) return null;
  return (
    `config.json says model_type "bert" because transformers.js picks its fill-mask and text-classification classes by it ` +
    `(they run the ONNX graph as it is), but this model is not BERT: ${reasons.join("; ")}; so its architectures is ` +
    `mlm-ts's own and mlm_ts.bert is false (a tool that rebuilds BERT from the config would compute something else)`
  );
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
