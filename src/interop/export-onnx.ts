/**
 * `exportOnnx`: a trained run's best checkpoint as a folder for ONNX Runtime and transformers.js:
 *
 *   onnx/model.onnx         the model (opset 17): input_ids, attention_mask [batch, sequence] int64
 *                           -> logits [batch, sequence, vocab] (masked LM) or [batch, labels]
 *                           (classifier), and last_hidden_state [batch, sequence, d_model], float32
 *                           (onnx-model.ts)
 *   config.json             transformers.js's model configuration (hf-files.ts)
 *   tokenizer.json          the run's tokenizer, Hugging Face's format
 *   tokenizer_config.json   the tokenizer's class, special tokens and longest input
 *
 * `onnx/model.onnx` is where transformers.js looks for a model's weights; ONNX Runtime takes the file's
 * path. The folder is written as one unit (run/atomic-directory.ts): whole, or not at all. A run whose
 * tokenizer JavaScript tokenizers cannot read as mlm-ts does is refused (hf-files.ts says why), unless
 * `anyTokenizer`.
 */
import { platform } from "../platform/index.js";
import { writeDirectoryAtomic } from "../run/index.js";
import { checkFiniteTensors } from "./finite-tensors.js";
import { javascriptTokenizerProblem, notBertNote, tokenizerConfig, transformersConfig } from "./hf-files.js";
import { mlmOnnxModel } from "./onnx-model.js";
import { encodeModel } from "./onnx-proto.js";
import { checkOutputFolder, exportInputs } from "./output-folder.js";
import { readExportSource } from "./source.js";

/** The files of an ONNX export, relative to its folder. */
export const ONNX_EXPORT_FILES = {
  model: "onnx/model.onnx",
  config: "config.json",
  tokenizer: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
} as const;

/** What an export wrote. */
export interface ExportResult {
  /** The checkpoint exported. */
  checkpointDir: string;
  /** Every file written (full paths). */
  files: string[];
  /** Things the user should know (e.g. tokenizer limits), one line each. */
  warnings: string[];
}

export interface ExportOptions {
  /** Replace an existing output folder (and everything in it). */
  force?: boolean;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";

/** Options of `exportOnnx`. */
export interface ExportOnnxOptions extends ExportOptions {
  /** Export even a tokenizer that JavaScript tokenizers read differently (a warning instead of a refusal). */
  anyTokenizer?: boolean;
}

/**
 * Exports the best checkpoint of run `runDir` (or the checkpoint directory given) to `outDir`, written
 * as one unit (an existing folder is replaced only with `force`; output-folder.ts says which folders
 * are refused): a masked LM for fill-mask, a classifier for text-classification, either for
 * feature-extraction. Weights holding NaN or an infinity are refused.
 *
 * @example
 *   const { files, warnings } = await exportOnnx("runs/demo", "exported/demo", "0.1.0");
 *   // files: exported/demo/onnx/model.onnx, config.json, tokenizer.json, tokenizer_config.json
 */
export async function exportOnnx(
  runDir: string,
  outDir: string,
  version: string,
  options: ExportOnnxOptions = {},
): Promise<ExportResult> {
  const src = await readExportSource(runDir, "best");
  await checkOutputFolder(outDir, exportInputs(runDir, src), { force: options.force ?? false });
  checkFiniteTensors(src.tensors, `${src.checkpointDir}/model.safetensors`, "weights");
  const problem = javascriptTokenizerProblem(src.tokenizerJson);
  if (problem !== null && options.anyTokenizer !== true) throw new Error(`${src.checkpointDir}: ${problem}`);
  const { storage } = platform();
  const path = (name: string): string => storage.path.join(outDir, name);
  const { classifier } = src;
  const task =
    classifier === null
      ? ({ task: "fill-mask" } as const)
      : ({
          task: "text-classification",
          numLabels: classifier.id2label.length,
          pooling: classifier.pooling,
          head: classifier.head,
        } as const);
  const model = encodeModel(mlmOnnxModel(src.modelConfig, src.tensors, version, task));
  const config = transformersConfig(src.modelConfig, src.config, src.tokenizer, version, classifier);
  const files: [string, string | readonly Uint8Array[]][] = [
    [ONNX_EXPORT_FILES.model, model],
    [ONNX_EXPORT_FILES.config, json(config)],
    [ONNX_EXPORT_FILES.tokenizer, src.tokenizerJson],
    [ONNX_EXPORT_FILES.tokenizerConfig, json(tokenizerConfig(src.tokenizer, src.modelConfig.maxLen))],
  ];
  await writeDirectoryAtomic(outDir, async (out) => {
    for (const [name, data] of files) await out.writeFile(name, data);
  });
  return {
    checkpointDir: src.checkpointDir,
    files: files.map(([name]) => path(name)),
    warnings: [
      ...(problem === null ? [] : [problem.replace(/, or pass --any-tokenizer to export anyway/, "")]),
      ...[notBertNote(src.modelConfig, classifier)].filter((note) => note !== null),
    ],
  };
}
