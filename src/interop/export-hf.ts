/**
 * `exportHf`: a run of BERT's architecture (the `bert` recipe: embedding "layernorm", learned
 * positions, post-norm) as a Hugging Face folder that BertForMaskedLM, or for a classifier with
 * BERT's head BertForSequenceClassification, loads as it is:
 *
 *   config.json         BertConfig's fields (model_type "bert", architectures ["BertForMaskedLM"] or
 *                       ["BertForSequenceClassification"] with num_labels, id2label, label2id);
 *                       hidden_act "gelu_new" for mlm-ts's GELU, which is the tanh form (BERT's own
 *                       "gelu" is the exact erf one), or "relu"
 *   model.safetensors   BERT's own tensor names and layout ([out, in] linear weights), float32;
 *                       token_type_embeddings is one row of zeros (mlm-ts has no segments); with a
 *                       tied output there is no cls.predictions.decoder.weight (tie_word_embeddings);
 *                       a classifier's head is bert.pooler.dense and classifier
 *   tokenizer.json      the run's tokenizer, and tokenizer_config.json
 *
 * Other architectures are refused, naming the option that is not BERT's: their weights are not BERT's
 * (sqrt(dModel)-scaled embeddings, sinusoidal positions, pre-norm), and a folder that claimed to be
 * BERT would load and give other logits. So are classifiers with the tutorial's head (dense,
 * activation, LayerNorm, out: not BERT's pooler) or mean pooling (BERT pools [CLS]).
 */
import type { ModelConfig, NamedTensor } from "../model/index.js";
import { bertMismatch, classifierLayout, paramLayout } from "../model/index.js";
import type { ClassifierRecord } from "../run/index.js";
import { requireToken } from "../data/index.js";
import { platform } from "../platform/index.js";
import { writeDirectoryAtomic, writeSafetensors } from "../run/index.js";
import type { ExportOptions, ExportResult } from "./export-onnx.js";
import { checkFiniteTensors } from "./finite-tensors.js";
import { labelFields, tokenizerConfig } from "./hf-files.js";
import { checkOutputFolder, exportInputs } from "./output-folder.js";
import { readExportSource } from "./source.js";
import { toTorchLayout } from "./torch-layout.js";

/** Throws naming the first option that is not BERT's (and what to train with instead). */
export function checkBertArchitecture(cfg: ModelConfig, what: string): void {
  const mismatch = bertMismatch(cfg);
  if (mismatch === null) return;
  const { key, value, bert } = mismatch;
  throw new Error(
    `${what}: the model option "${key}" is ${JSON.stringify(cfg[key])}, not BERT's ${JSON.stringify(value)} (${bert}); ` +
      `a run of BERT's architecture is trained with --recipe bert; this one exports with --format onnx or pytorch`,
  );
}

/** Throws unless the classifier is BertForSequenceClassification's: BERT's head on the [CLS] vector. */
function checkBertClassifier(classifier: ClassifierRecord, what: string): void {
  if (classifier.head !== "bert")
    throw new Error(
      `${what}: the classifier has mlm-ts's tutorial head (dense, activation, LayerNorm, out), not BertForSequenceClassification's ` +
        `(pooler dense + tanh, classifier): fine-tune with --head bert (the default from a --recipe bert run), or export it with --format onnx`,
    );
  if (classifier.pooling !== "cls")
    throw new Error(
      `${what}: the classifier pools the mean of its tokens; BertForSequenceClassification pools [CLS]: ` +
        `fine-tune with --pooling cls, or export it with --format onnx`,
    );
}

/** mlm-ts's PyTorch name (torch-layout.ts) -> BertForMaskedLM's. */
export function bertName(torchName: string): string {
  const rules: [RegExp, string][] = [
    [/^embed\.weight$/, "bert.embeddings.word_embeddings.weight"],
    [/^embed\.positions$/, "bert.embeddings.position_embeddings.weight"],
    [/^embed\.ln\./, "bert.embeddings.LayerNorm."],
    [/^layers\.(\d+)\.attn\.q\./, "bert.encoder.layer.$1.attention.self.query."],
    [/^layers\.(\d+)\.attn\.k\./, "bert.encoder.layer.$1.attention.self.key."],
    [/^layers\.(\d+)\.attn\.v\./, "bert.encoder.layer.$1.attention.self.value."],
    [/^layers\.(\d+)\.attn\.out\./, "bert.encoder.layer.$1.attention.output.dense."],
    [/^layers\.(\d+)\.ln1\./, "bert.encoder.layer.$1.attention.output.LayerNorm."],
    [/^layers\.(\d+)\.ffn\.fc1\./, "bert.encoder.layer.$1.intermediate.dense."],
    [/^layers\.(\d+)\.ffn\.fc2\./, "bert.encoder.layer.$1.output.dense."],
    [/^layers\.(\d+)\.ln2\./, "bert.encoder.layer.$1.output.LayerNorm."],
    [/^head\.dense\./, "cls.predictions.transform.dense."],
    [/^head\.ln\./, "cls.predictions.transform.LayerNorm."],
    [/^head\.out\.bias$/, "cls.predictions.bias"],
    [/^head\.out\.weight$/, "cls.predictions.decoder.weight"],
    [/^classifier\.pooler\./, "bert.pooler.dense."],
    [/^classifier\.out\./, "classifier."],
  ];
  for (const [pattern, replacement] of rules)
    if (pattern.test(torchName)) return torchName.replace(pattern, replacement);
  throw new Error(`no BERT name for the tensor "${torchName}"`);
}

/**
 * BertConfig's fields for the model (dropout: the run's rate as BERT's hidden dropout, and a
 * classifier's dropout; attention probabilities have none in mlm-ts), with a classifier's labels.
 */
export function bertConfig(
  cfg: ModelConfig,
  dropout: number,
  padId: number,
  version: string,
  classifier: ClassifierRecord | null = null,
): Record<string, unknown> {
  const labels =
    classifier === null
      ? {}
      : { num_labels: classifier.id2label.length, ...labelFields(classifier), classifier_dropout: dropout };
  return {
    architectures: [classifier === null ? "BertForMaskedLM" : "BertForSequenceClassification"],
    model_type: "bert",
    ...labels,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.dModel,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.dFF,
    hidden_act: cfg.activation === "gelu" ? "gelu_new" : "relu",
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: 0,
    max_position_embeddings: cfg.maxLen,
    type_vocab_size: 1,
    initializer_range: 0.02,
    layer_norm_eps: cfg.lnEps,
    pad_token_id: padId,
    position_embedding_type: "absolute",
    tie_word_embeddings: cfg.tieOutput,
    torch_dtype: "float32",
    mlm_ts_version: version,
  };
}

/**
 * Exports run `runDir` (its best checkpoint) to `outDir` in BertForMaskedLM's layout, or a
 * classifier's in BertForSequenceClassification's, written as one unit (an existing folder only with
 * `force`; output-folder.ts says which are refused).
 *
 * @example
 *   await exportHf("runs/bert", "exported/hf", "0.1.0");
 *   // then, in Python: BertForMaskedLM.from_pretrained("exported/hf")
 */
export async function exportHf(
  runDir: string,
  outDir: string,
  version: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const src = await readExportSource(runDir, "best");
  const { storage } = platform();
  const what = `Hugging Face export of ${src.checkpointDir}`;
  checkBertArchitecture(src.modelConfig, what);
  const { classifier } = src;
  if (classifier !== null) checkBertClassifier(classifier, what);
  const { specs } =
    classifier === null
      ? paramLayout(src.modelConfig)
      : classifierLayout(src.modelConfig, classifier.id2label.length, classifier.head);
  await checkOutputFolder(outDir, exportInputs(runDir, src), { force: options.force ?? false });
  checkFiniteTensors(src.tensors, `${src.checkpointDir}/model.safetensors`, "weights");
  const C = src.modelConfig.dModel;
  const tensors: NamedTensor[] = [
    ...toTorchLayout(specs, src.tensors).map((t) => ({ ...t, name: bertName(t.name) })),
    { name: "bert.embeddings.token_type_embeddings.weight", shape: [1, C], data: new Float32Array(C) },
  ];
  const padId = requireToken(src.tokenizer, "[PAD]");
  const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";
  const files: [string, string | readonly Uint8Array[]][] = [
    ["config.json", json(bertConfig(src.modelConfig, src.config.dropout, padId, version, classifier))],
    ["model.safetensors", writeSafetensors(tensors, { format: "pt" })],
    ["tokenizer.json", src.tokenizerJson],
    ["tokenizer_config.json", json(tokenizerConfig(src.tokenizer, src.modelConfig.maxLen))],
  ];
  await writeDirectoryAtomic(outDir, async (out) => {
    for (const [name, data] of files) await out.writeFile(name, data);
  });
  return { checkpointDir: src.checkpointDir, files: files.map(([n]) => storage.path.join(outDir, n)), warnings: [] };
}
