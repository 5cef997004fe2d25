/**
 * The data of a PyTorch export (export-pytorch.ts): the run's splits made again from its corpus and
 * settings, exactly as training made them, as the .npy shards mlm_torch.py reads (npy-shards.ts), and
 * the step where the run's schedule ends. The training split is read sentence by sentence from where
 * training reads it (a streamed corpus's on-disk token cache, or the tutorial's in-memory split), so
 * the export holds one shard at a time, never the split as one array.
 *
 *   masked language model   train: ids, offsets; valid: ids (the fixed validation masks applied),
 *                           offsets, labels (the original id at each masked token, -100 elsewhere)
 *   classifier              train, valid: ids ([CLS] text [SEP], as fine-tuning encoded it), offsets,
 *                           classes (each sentence's class id)
 *
 * @example
 *   const data = await exportedData(await readExportSource("runs/demo", "latest"), null, 1 << 24);
 *   await writeDirectoryAtomic("exported/torch", async (out) => console.log((await data.write(out)).record));
 */
import type { TrainConfig } from "../config/index.js";
import {
  batchesPerEpoch,
  bundledCorpusPath,
  corpusFingerprint,
  encodeLabelled,
  prepareData,
  runLoaders,
  sentenceIds,
} from "../data/index.js";
import { RunDirectory, type DirectoryWriter } from "../run/index.js";
import { checkSameLabels, readRunSplits } from "../train/finetune.js";
import { idsDtype, NpyShardWriter, type ShardedSplitSummary } from "./npy-shards.js";
import type { ExportSource } from "./source.js";

/** A file of the export: its name in the folder and its bytes. */
export type ExportFile = [string, string | readonly Uint8Array[]];

/** Shards of at most 2^24 tokens: 32 MiB of uint16 ids (64 MiB of int32), what an export holds at once. */
export const DEFAULT_SHARD_TOKENS = 1 << 24;

/** config.json's "data": how the splits are stored, and each split's size. */
export interface DataRecord {
  format: "npy-shards";
  idsDtype: "uint16" | "int32";
  shardTokens: number;
  train: ShardedSplitSummary;
  valid: ShardedSplitSummary;
}

/** An export's data: where the schedule ends, and the writing of the shards into the export's folder. */
export interface ExportedData {
  totalSteps: number;
  /** Writes every shard; returns config.json's "data" entry and the files written. */
  write(out: DirectoryWriter): Promise<{ record: DataRecord; files: string[] }>;
}

/** Writes both splits through `fill`, which adds each split's sentences to its writer. */
async function writeSplits(
  out: DirectoryWriter,
  options: { vocabSize: number; shardTokens: number; labels: boolean; classes: boolean },
  fill: (train: NpyShardWriter, valid: NpyShardWriter) => Promise<void>,
): Promise<{ record: DataRecord; files: string[] }> {
  const { vocabSize, shardTokens, classes } = options;
  const train = new NpyShardWriter(out, "train", { vocabSize, shardTokens, classes });
  const valid = new NpyShardWriter(out, "valid", { vocabSize, shardTokens, classes, labels: options.labels });
  await fill(train, valid);
  const record: DataRecord = {
    format: "npy-shards",
    idsDtype: idsDtype(vocabSize),
    shardTokens,
    train: await train.finish(),
    valid: await valid.finish(),
  };
  return { record, files: [...train.files, ...valid.files] };
}

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
async function maskedLmData(src: ExportSource, shardTokens: number): Promise<ExportedData> {
  const { config, tokenizer } = src;
  const data = await prepareData({ ...config, progress: false }, () => {}, tokenizer);
  const loaders = runLoaders(config, tokenizer, data.train, data.valid);
  const options = { vocabSize: tokenizer.vocabSize, shardTokens, labels: true, classes: false };
  return {
    totalSteps: scheduleEnd(config, loaders.train.batchesPerEpoch),
    write: (out) =>
      writeSplits(out, options, async (train, valid) => {
        // sentence by sentence from where training reads them (a streamed corpus: its token cache)
        for (let i = 0; i < data.train.count; i++) await train.add(sentenceIds(data.train, i));
        for (let b = 0; b < loaders.valid.batchesPerEpoch; b++) {
          const batch = loaders.valid.batch(0, b);
          for (let s = 0; s < batch.numSeqs; s++) {
            const start = batch.seqs[3 * s];
            const end = start + batch.seqs[3 * s + 2];
            await valid.add(batch.ids.subarray(start, end), { labels: batch.labels.subarray(start, end) });
          }
        }
      }),
  };
}

/** A classifier's splits, read and encoded as fine-tuning did (the same seeded split, the same labels). */
async function labelledData(src: ExportSource, settings: LabelledSettings, shardTokens: number): Promise<ExportedData> {
  const { config, tokenizer } = src;
  const s = await readRunSplits(config, settings);
  checkSameLabels(config.data!, s.id2label, settings.id2label);
  const maxLen = src.modelConfig.maxLen;
  const train = encodeLabelled(tokenizer, s.train, s.trainLabels, maxLen);
  const valid = encodeLabelled(tokenizer, s.valid, s.validLabels, maxLen);
  const options = { vocabSize: tokenizer.vocabSize, shardTokens, labels: false, classes: true };
  return {
    totalSteps: scheduleEnd(config, batchesPerEpoch(train.count, config.batchSize)),
    write: (out) =>
      writeSplits(out, options, async (trainShards, validShards) => {
        for (const [split, shards] of [
          [train, trainShards],
          [valid, validShards],
        ] as const)
          for (let i = 0; i < split.count; i++)
            await shards.add(split.ids.subarray(split.offsets[i], split.offsets[i + 1]), { cls: split.labels[i] });
      }),
  };
}

/**
 * The data of the export of `src` (a classifier's when `labelled` is its settings) in shards of at
 * most `shardTokens` tokens, after checking that the run's corpus is the one it trained on.
 */
export async function exportedData(
  src: ExportSource,
  labelled: LabelledSettings | null,
  shardTokens: number,
): Promise<ExportedData> {
  await checkCorpusUnchanged(src);
  return labelled === null ? maskedLmData(src, shardTokens) : labelledData(src, labelled, shardTokens);
}
