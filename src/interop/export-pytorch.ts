/**
 * `exportPytorch`: a trained run as a folder that PyTorch trains on, with `torch.distributed` (DDP) on
 * one machine or many, using the project's own `mlm_torch.py` (src/interop/python/, copied into the
 * folder). The folder's layout, every tensor name and the data format are documented at the top of
 * that file; in short:
 *
 *   mlm_torch.py, config.json, tokenizer.json
 *   model.safetensors       PyTorch names and layout ([out, in] linear weights; torch-layout.ts)
 *   optimizer.safetensors   Adam's moments "exp_avg.<name>", "exp_avg_sq.<name>", metadata step
 *                           (when the checkpoint has them: a run's newest last-* checkpoint)
 *   data/{train,valid}-<k>.{ids,offsets,labels,classes}.npy
 *                           the token ids of both splits in shards (torch-data.ts, npy-shards.ts),
 *                           validation with mlm-ts's fixed masks applied; config.json's "data" says
 *                           how many shards and sentences
 *   metrics.jsonl, history/events.out.tfevents.*
 *                           the run's history (its records up to the exported step, its TensorBoard
 *                           files), which mlm_torch.py carries on and `mlm import` puts back
 *
 * The splits are made again from the run's corpus and settings, exactly as training made them (the
 * tokenized cache is reused: a streamed corpus's on-disk token cache is read sentence by sentence, so
 * the export holds one shard at a time), so the corpus file must still be where the run read it.
 */
import type { TrainConfig } from "../config/index.js";
import { bundledCorpusPath, neverMaskedIds, projectRoot, requireToken } from "../data/index.js";
import { classifierLayout, paramLayout, type ModelConfig } from "../model/index.js";
import { platform } from "../platform/index.js";
import {
  EVENTS_FILE_PREFIX,
  formatMetricsLine,
  readJsonObject,
  readMetricsFile,
  RUN_FILES,
  runConfigRecord,
  writeDirectoryAtomic,
  writeSafetensors,
} from "../run/index.js";
import type { ExportOptions, ExportResult } from "./export-onnx.js";
import { checkFiniteTensors } from "./finite-tensors.js";
import { checkOutputFolder, exportInputs } from "./output-folder.js";
import { checkExportable } from "./model-options.js";
import { readExportSource, type ExportSource } from "./source.js";
import { DEFAULT_SHARD_TOKENS, exportedData, type ExportFile, type LabelledSettings } from "./torch-data.js";
import { flatToTorchLayout, toTorchLayout } from "./torch-layout.js";

/** The identifier of the folder's config.json, and its version. */
export const PYTORCH_EXPORT_FORMAT = "mlm-ts-pytorch";
export const PYTORCH_EXPORT_VERSION = 2;
/** The versions `mlm import` reads (its files besides data/ are the same; 1 kept the splits whole). */
export const PYTORCH_IMPORT_VERSIONS: readonly number[] = [1, 2];

/** The PyTorch export's options: ExportOptions, and the most tokens a data shard holds. */
export interface PytorchExportOptions extends ExportOptions {
  /** Default DEFAULT_SHARD_TOKENS (2^24); every sentence must fit in one shard. */
  shardTokens?: number;
}

/** The Python file, as kept in this repository (and shipped in the package). */
export function pythonTrainerPath(): string {
  return platform().storage.path.join(projectRoot(), "src", "interop", "python", "mlm_torch.py");
}

/**
 * The optimizer and masking settings the Python trainer follows (the run's), and its planned steps.
 * The training masks' rate is trainMaskProb (null: maskProb's), as mlm-ts's training batches; the
 * dropout rates per place are the run's, in config.json's "model" (trainingModel).
 */
function trainSettings(config: TrainConfig, totalSteps: number): Record<string, unknown> {
  const keys = [
    "learningRate",
    "lrSchedule",
    "warmupSteps",
    "gradClip",
    "beta1",
    "beta2",
    "adamEps",
    "weightDecay",
    "batchSize",
    "maskProb",
    "trainMaskProb",
    "maskTokenRate",
    "randomTokenRate",
    "seed",
  ] as const;
  return { ...Object.fromEntries(keys.map((k) => [k, config[k]])), totalSteps };
}

/**
 * The model's shape with the run's dropout rates, which the Python trainer applies place by place
 * (the checkpoint's "model" is the inference shape: dropout 0).
 */
function trainingModel(src: ExportSource): ModelConfig {
  const { dropout, dropoutEmbedding, dropoutAttention, dropoutHidden, dropoutResidual } = src.config;
  return { ...src.modelConfig, dropout, dropoutEmbedding, dropoutAttention, dropoutHidden, dropoutResidual };
}

/**
 * The run's history as export files: metrics.jsonl with its records up to `step` (those after it
 * belong to a later checkpoint's training), and each TensorBoard event file under history/. None for
 * a checkpoint folder exported on its own.
 */
async function historyFiles(runDir: string | null, step: number): Promise<ExportFile[]> {
  if (runDir === null) return [];
  const { storage } = platform();
  const files: ExportFile[] = [];
  const metricsPath = storage.path.join(runDir, RUN_FILES.metrics);
  if ((await storage.stat(metricsPath)) !== null) {
    const kept = (await readMetricsFile(metricsPath, storage)).filter((r) => r.step <= step);
    files.push([RUN_FILES.metrics, kept.map(formatMetricsLine).join("")]);
  }
  for (const name of (await storage.list(runDir)).filter((n) => n.startsWith(EVENTS_FILE_PREFIX)).sort())
    files.push([`history/${name}`, [await storage.readBytes(storage.path.join(runDir, name))]]);
  return files;
}

/**
 * A classifier's "classifier" entry of its checkpoint's config.json (id2label, pooling, and how its
 * labelled data was read: train/classify-task.ts), kept whole for `mlm import`; null for a masked LM.
 */
async function classifierSettings(src: ExportSource): Promise<(LabelledSettings & Record<string, unknown>) | null> {
  if (src.classifier === null) return null;
  const { storage } = platform();
  const path = storage.path.join(src.checkpointDir, "config.json");
  const raw = (await readJsonObject(storage, path)).classifier as Record<string, unknown>;
  const settings: Record<string, unknown> = {
    ...raw,
    id2label: src.classifier.id2label,
    pooling: src.classifier.pooling,
  };
  for (const [key, kind] of [
    ["validFraction", "number"],
    ["labelColumn", "string"],
  ] as const)
    if (typeof settings[key] !== kind)
      throw new Error(`${path}: "classifier.${key}" must be a ${kind}, got ${JSON.stringify(settings[key])}`);
  for (const key of ["valid", "textColumn", "textPairColumn"] as const)
    if (!(settings[key] === null || typeof settings[key] === "string"))
      throw new Error(`${path}: "classifier.${key}" must be a string or null, got ${JSON.stringify(settings[key])}`);
  return settings as unknown as LabelledSettings & Record<string, unknown>;
}

/**
 * Exports run `runDir` (its newest last-* checkpoint, with Adam's moments; else best/) to `outDir`,
 * written as one unit (an existing folder is replaced only with `force`; output-folder.ts says
 * which folders are refused). Weights or moments holding NaN or an infinity are refused.
 *
 * @example
 *   await exportPytorch("runs/demo", "exported/torch", "0.1.0");
 *   // then: torchrun --nproc_per_node 2 exported/torch/mlm_torch.py train exported/torch --out trained --steps 100
 */
export async function exportPytorch(
  runDir: string,
  outDir: string,
  version: string,
  options: PytorchExportOptions = {},
): Promise<ExportResult> {
  const src = await readExportSource(runDir, "latest");
  if (src.classifier?.head === "bert")
    throw new Error(
      `PyTorch export of ${src.checkpointDir}: the classifier has BERT's head (pooler dense + tanh, classifier), which mlm_torch.py does not implement; ` +
        `export it with --format hf (BertForSequenceClassification, for transformers) or --format onnx`,
    );
  checkExportable(src.modelConfig, "PyTorch export");
  const corpus = { path: src.config.data ?? bundledCorpusPath(), what: "the run's corpus" };
  await checkOutputFolder(outDir, [...exportInputs(runDir, src), corpus], { force: options.force ?? false });
  checkFiniteTensors(src.tensors, `${src.checkpointDir}/model.safetensors`, "weights");
  checkFiniteTensors(src.optimizer ?? [], `${src.checkpointDir}/optimizer.safetensors`, "moments");
  const { storage } = platform();
  const classifier = await classifierSettings(src);
  const { specs } =
    classifier === null ? paramLayout(src.modelConfig) : classifierLayout(src.modelConfig, classifier.id2label.length);
  const step = src.state.step;
  if (!(typeof step === "number" && Number.isSafeInteger(step) && step >= 0))
    throw new Error(
      `${src.checkpointDir}/train_state.json: "step" must be a whole number >= 0, got ${JSON.stringify(step)}`,
    );
  const data = await exportedData(src, classifier, options.shardTokens ?? DEFAULT_SHARD_TOKENS);
  const { tokenizer } = src;
  const never = neverMaskedIds(tokenizer);
  const randomPool = [...Array(tokenizer.vocabSize).keys()].filter((id) => !never.includes(id));
  const config = {
    format: PYTORCH_EXPORT_FORMAT,
    formatVersion: PYTORCH_EXPORT_VERSION,
    model: trainingModel(src),
    train: trainSettings(src.config, data.totalSteps),
    tokens: {
      pad: requireToken(tokenizer, "[PAD]"),
      mask: requireToken(tokenizer, "[MASK]"),
      neverMasked: never,
      randomPool,
    },
    ...(classifier === null ? {} : { task: "text-classification", classifier }),
    step,
    mlm_ts: {
      version,
      checkpoint: src.checkpointDir,
      runConfig: runConfigRecord(src.config, src.runDir ?? src.checkpointDir),
      inputs: src.inputs,
      state: src.state,
    },
  };
  const files: ExportFile[] = [
    ["mlm_torch.py", await storage.readText(pythonTrainerPath())],
    ["tokenizer.json", src.tokenizerJson],
    ["model.safetensors", writeSafetensors(toTorchLayout(specs, src.tensors))],
    ...(await historyFiles(src.runDir, step)),
  ];
  const m = src.optimizer?.find((t) => t.name === "adam.m");
  const v = src.optimizer?.find((t) => t.name === "adam.v");
  if (m !== undefined && v !== undefined) {
    const moments = [
      ...flatToTorchLayout(specs, m.data, "exp_avg."),
      ...flatToTorchLayout(specs, v.data, "exp_avg_sq."),
    ];
    files.push(["optimizer.safetensors", writeSafetensors(moments, { step: String(step) })]);
  }
  const warnings =
    m === undefined
      ? [`${src.checkpointDir} has no Adam moments (optimizer.safetensors): PyTorch starts Adam afresh at step ${step}`]
      : [];
  if (src.config.gradAccumSteps > 1)
    warnings.push(
      `the run accumulates ${src.config.gradAccumSteps} batches per step (gradAccumSteps); mlm_torch.py takes one batch per step: give it --batch-size ${src.config.batchSize * src.config.gradAccumSteps} for the same batch`,
    );
  let written: string[] = [];
  await writeDirectoryAtomic(outDir, async (out) => {
    for (const [name, body] of files) await out.writeFile(name, body);
    // the shards one at a time, then config.json with what they hold
    const shards = await data.write(out);
    await out.writeFile("config.json", JSON.stringify({ ...config, data: shards.record }, null, 2) + "\n");
    written = ["config.json", ...files.map(([n]) => n), ...shards.files];
  });
  return { checkpointDir: src.checkpointDir, files: written.map((n) => storage.path.join(outDir, n)), warnings };
}
