/**
 * The data of a PyTorch export (export-pytorch.ts): the run's splits made again from its corpus and
 * settings, exactly as training made them, as the `data/*.npy` files mlm_torch.py reads, and the
 * step where the run's schedule ends.
 *
 *   masked language model   data/{train,valid}_{ids,offsets}.npy, data/valid_labels.npy (the fixed
 *                           validation masks applied: the original id at each masked token, -100 elsewhere)
 *   classifier              data/{train,valid}_{ids,offsets}.npy ([CLS] text [SEP], as fine-tuning
 *                           encoded it) and data/{train,valid}_classes.npy (each sentence's class id)
 *
 * @example
 *   const { files, totalSteps } = await exportedData(await readExportSource("runs/demo", "latest"), null);
 */
import type { TrainConfig } from "../config/index.js";
import {
  batchesPerEpoch,
  bundledCorpusPath,
  corpusFingerprint,
  encodeLabelled,
  inMemory,
  prepareData,
  readLabelledSplits,
  runLoaders,
} from "../data/index.js";
import { RunDirectory } from "../run/index.js";
import { npyInt32 } from "./npy.js";
import type { ExportSource } from "./source.js";

/** A file of the export: its name in the folder and its bytes. */
export type ExportFile = [string, string | readonly Uint8Array[]];

/** How a fine-tuning run read its labelled data: config.json's "classifier" (train/classify-task.ts). */
export interface LabelledSettings {
  id2label: string[];
  valid: string | null;
  validFraction: number;
  textColumn: string | null;
  textPairColumn: string | null;
  labelColumn: string;
}

/** The step where the run's schedule ends (its decay reaches 0), as the trainer plans it. */
function scheduleEnd(config: TrainConfig, trainBatchesPerEpoch: number): number {
  const stepsPerEpoch = trainBatchesPerEpoch / config.gradAccumSteps;
  const scheduleSteps = Math.floor(config.epochs * stepsPerEpoch);
  return config.maxSteps > 0 ? Math.min(config.maxSteps, scheduleSteps) : scheduleSteps;
}

/** Refuses a run whose corpus changed since it trained: its splits would hold other sentences. */
async function checkCorpusUnchanged(src: ExportSource): Promise<void> {
  if (src.runDir === null) return;
  await new RunDirectory(src.runDir).checkInputs(
    () => corpusFingerprint(src.config.data ?? bundledCorpusPath(), { cacheDir: src.config.cacheDir }),
    "the exported splits would hold other sentences than the run was trained on",
  );
}

/** The masked language model's splits: both splits' ids, the validation split with its fixed masks. */
async function maskedLmData(src: ExportSource): Promise<{ files: ExportFile[]; totalSteps: number }> {
  const { config, tokenizer } = src;
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
  const train = inMemory(data.train); // a streamed corpus's split is read from its token cache
  return {
    files: [
      ["data/train_ids.npy", npyInt32(train.ids.subarray(0, train.offsets[train.offsets.length - 1]))],
      ["data/train_offsets.npy", npyInt32(train.offsets)],
      ["data/valid_ids.npy", npyInt32(Int32Array.from(ids))],
      ["data/valid_labels.npy", npyInt32(Int32Array.from(labels))],
      ["data/valid_offsets.npy", npyInt32(Int32Array.from(offsets))],
    ],
    totalSteps: scheduleEnd(config, loaders.train.batchesPerEpoch),
  };
}

/** A classifier's splits, read and encoded as fine-tuning did (the same seeded split, the same labels). */
async function labelledData(
  src: ExportSource,
  settings: LabelledSettings,
): Promise<{ files: ExportFile[]; totalSteps: number }> {
  const { config, tokenizer } = src;
  const s = await readLabelledSplits(config.data!, {
    valid: settings.valid,
    validFraction: settings.validFraction,
    dataSeed: config.dataSeed,
    textColumn: settings.textColumn,
    textPairColumn: settings.textPairColumn,
    labelColumn: settings.labelColumn,
  });
  if (s.id2label.join("\n") !== settings.id2label.join("\n"))
    throw new Error(
      `${config.data}: its labels are now ${s.id2label.join(", ")}, the run was trained on ${settings.id2label.join(", ")}`,
    );
  const files: ExportFile[] = [];
  let trainCount = 0;
  for (const [name, examples, labels] of [
    ["train", s.train, s.trainLabels],
    ["valid", s.valid, s.validLabels],
  ] as const) {
    const split = encodeLabelled(tokenizer, examples, labels, src.modelConfig.maxLen);
    if (name === "train") trainCount = split.count;
    files.push(
      [`data/${name}_ids.npy`, npyInt32(split.ids)],
      [`data/${name}_offsets.npy`, npyInt32(split.offsets)],
      [`data/${name}_classes.npy`, npyInt32(split.labels)],
    );
  }
  return { files, totalSteps: scheduleEnd(config, batchesPerEpoch(trainCount, config.batchSize)) };
}

/**
 * The data files of the export of `src` (a classifier's when `labelled` is its settings), after
 * checking that the run's corpus is the one it trained on; and the step where its schedule ends.
 */
export async function exportedData(
  src: ExportSource,
  labelled: LabelledSettings | null,
): Promise<{ files: ExportFile[]; totalSteps: number }> {
  await checkCorpusUnchanged(src);
  return labelled === null ? maskedLmData(src) : labelledData(src, labelled);
}
