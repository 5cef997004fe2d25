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
 *   data/{train,valid}_{ids,offsets}.npy, data/valid_labels.npy
 *                           the token ids of both splits; validation with mlm-ts's fixed masks applied
 *   metrics.jsonl, history/events.out.tfevents.*
 *                           the run's history (its records up to the exported step, its TensorBoard
 *                           files), which mlm_torch.py carries on and `mlm import` puts back
 *
 * The splits are made again from the run's corpus and settings, exactly as training made them (the
 * tokenized cache is reused), so the corpus file must still be where the run read it.
 */
import type { TrainConfig } from "../config/index.js";
import {
  bundledCorpusPath,
  neverMaskedIds,
  prepareData,
  inMemory,
  projectRoot,
  requireToken,
  runLoaders,
  corpusFingerprint,
} from "../data/index.js";
import { paramLayout, type ModelConfig } from "../model/index.js";
import { platform } from "../platform/index.js";
import {
  EVENTS_FILE_PREFIX,
  formatMetricsLine,
  readMetricsFile,
  RUN_FILES,
  RunDirectory,
  runConfigRecord,
  writeDirectoryAtomic,
  writeSafetensors,
} from "../run/index.js";
import type { ExportOptions, ExportResult } from "./export-onnx.js";
import { checkFiniteTensors } from "./finite-tensors.js";
import { checkOutputFolder, exportInputs } from "./output-folder.js";
import { checkExportable } from "./model-options.js";
import { npyInt32 } from "./npy.js";
import { readExportSource, type ExportSource } from "./source.js";
import { flatToTorchLayout, toTorchLayout } from "./torch-layout.js";

/** The identifier of the folder's config.json, and its version. */
export const PYTORCH_EXPORT_FORMAT = "mlm-ts-pytorch";
export const PYTORCH_EXPORT_VERSION = 1;

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

/** The validation split with its fixed masks applied, sentence after sentence in the loader's order. */
interface MaskedSplit {
  ids: Int32Array;
  labels: Int32Array;
  offsets: Int32Array;
}

/** What the Python trainer needs of the data: both splits' ids, the validation masks, the planned steps. */
async function exportData(src: ExportSource): Promise<{
  train: { ids: Int32Array; offsets: Int32Array };
  valid: MaskedSplit;
  totalSteps: number;
}> {
  const { config, tokenizer } = src;
  if (src.runDir !== null) {
    // The split is drawn from the corpus file: another file's split holds other sentences.
    await new RunDirectory(src.runDir).checkInputs(
      () => corpusFingerprint(config.data ?? bundledCorpusPath(), { cacheDir: config.cacheDir }),
      "the exported splits would hold other sentences than the run was trained on",
    );
  }
  const data = await prepareData({ ...config, progress: false }, () => {}, tokenizer);
  const loaders = runLoaders(config, tokenizer, data.train, data.valid);
  const ids: number[] = [];
  const labels: number[] = [];
  const offsets = [0];
  for (let b = 0; b < loaders.valid.batchesPerEpoch; b++) {
    const batch = loaders.valid.batch(0, b);
    for (let s = 0; s < batch.numSeqs; s++) {
      const start = batch.seqs[3 * s];
      const real = batch.seqs[3 * s + 2];
      for (let r = start; r < start + real; r++) {
        ids.push(batch.ids[r]);
        labels.push(batch.labels[r]);
      }
      offsets.push(ids.length);
    }
  }
  const stepsPerEpoch = loaders.train.batchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  return {
    train: inMemory(data.train), // a streamed corpus's split is read from its token cache
    valid: { ids: Int32Array.from(ids), labels: Int32Array.from(labels), offsets: Int32Array.from(offsets) },
    totalSteps: config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps,
  };
}

/**
 * The run's history as export files: metrics.jsonl with its records up to `step` (those after it
 * belong to a later checkpoint's training), and each TensorBoard event file under history/. None for
 * a checkpoint folder exported on its own.
 */
async function historyFiles(runDir: string | null, step: number): Promise<[string, string | readonly Uint8Array[]][]> {
  if (runDir === null) return [];
  const { storage } = platform();
  const files: [string, string | readonly Uint8Array[]][] = [];
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
  options: ExportOptions = {},
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
  const { specs } = paramLayout(src.modelConfig);
  const step = src.state.step;
  if (!(typeof step === "number" && Number.isSafeInteger(step) && step >= 0))
    throw new Error(
      `${src.checkpointDir}/train_state.json: "step" must be a whole number >= 0, got ${JSON.stringify(step)}`,
    );
  const data = await exportData(src);
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
    step,
    mlm_ts: {
      version,
      checkpoint: src.checkpointDir,
      runConfig: runConfigRecord(src.config, src.runDir ?? src.checkpointDir),
      inputs: src.inputs,
      state: src.state,
    },
  };
  const files: [string, string | readonly Uint8Array[]][] = [
    ["mlm_torch.py", await storage.readText(pythonTrainerPath())],
    ["config.json", JSON.stringify(config, null, 2) + "\n"],
    ["tokenizer.json", src.tokenizerJson],
    ["model.safetensors", writeSafetensors(toTorchLayout(specs, src.tensors))],
    ["data/train_ids.npy", npyInt32(data.train.ids.subarray(0, data.train.offsets[data.train.offsets.length - 1]))],
    ["data/train_offsets.npy", npyInt32(data.train.offsets)],
    ["data/valid_ids.npy", npyInt32(data.valid.ids)],
    ["data/valid_labels.npy", npyInt32(data.valid.labels)],
    ["data/valid_offsets.npy", npyInt32(data.valid.offsets)],
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
  await writeDirectoryAtomic(outDir, async (out) => {
    for (const [name, body] of files) await out.writeFile(name, body);
  });
  return { checkpointDir: src.checkpointDir, files: files.map(([n]) => storage.path.join(outDir, n)), warnings };
}
