/**
 * Labelled examples as token ids and batches for the classifier: encoding (`[CLS] text [SEP]`, or
 * `[CLS] a [SEP] b [SEP]` for pairs, truncated to maxLen and counted), the seeded train/validation
 * split, and a loader whose batches carry each sentence's class on its first row (the `[CLS]` row;
 * every other row IGNORE_LABEL), which is where model/classifier.ts reads it.
 */
import { DEFAULT_CONFIG } from "../config/index.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { TokenizedSplit } from "./cache.js";
import type { Batch, PackMode } from "./batch.js";
import { BatchBuffers, collate, type CollateOptions } from "./collate.js";
import { batchesPerEpoch, epochOrder } from "./order.js";
import { sampleAndSplit } from "./split.js";
import type { LoaderPosition } from "./loader.js";
import { Rng, type RngState } from "../util/rng.js";
import type { LabelledExample } from "./labelled.js";

/** Token ids of labelled sentences, their class ids, and how many were cut to fit maxLen. */
export interface LabelledSplit extends TokenizedSplit {
  /** [count] class id of each sentence. */
  labels: Int32Array;
  /** Sentences longer than maxLen tokens, cut (the longer text of a pair first). */
  truncated: number;
}

/**
 * Encodes examples with the tokenizer's `[CLS] ... [SEP]` template, each at most maxLen tokens: a
 * single text keeps its first maxLen - 2 tokens; a pair `[CLS] a [SEP] b [SEP]` drops tokens from the
 * end of the longer of a and b until it fits (Hugging Face's "longest_first").
 *
 * @example
 *   const split = encodeLabelled(tokenizer, file.examples, labelIds(file, id2label), 128);
 *   // split.ids = [CLS] ... [SEP] per sentence; split.labels[i] its class; split.truncated cut sentences
 */
export function encodeLabelled(
  tokenizer: Tokenizer,
  examples: readonly Pick<LabelledExample, "text" | "textPair">[],
  labels: Int32Array,
  maxLen: number,
): LabelledSplit {
  if (labels.length !== examples.length)
    throw new Error(`encodeLabelled: ${examples.length} examples but ${labels.length} labels`);
  if (!(Number.isInteger(maxLen) && maxLen >= 3)) throw new Error(`encodeLabelled: maxLen must be >= 3, got ${maxLen}`);
  const cls = tokenizer.tokenToId("[CLS]");
  const sep = tokenizer.tokenToId("[SEP]");
  if (cls === undefined || sep === undefined)
    throw new Error("encodeLabelled: the tokenizer has no [CLS] or [SEP] token");
  const saved = tokenizer.maxLength;
  tokenizer.setTruncation(null);
  const pieces: Int32Array[] = [];
  let truncated = 0;
  try {
    for (const e of examples) {
      const a = inner(tokenizer.encodeIds(e.text), cls, sep);
      let ids: Int32Array;
      if (e.textPair === undefined) {
        const room = maxLen - 2;
        if (a.length > room) truncated++;
        ids = join(cls, sep, a.subarray(0, room));
      } else {
        const b = inner(tokenizer.encodeIds(e.textPair), cls, sep);
        const room = maxLen - 3;
        let na = a.length;
        let nb = b.length;
        if (na + nb > room) truncated++;
        while (na + nb > room) {
          if (na >= nb) na--;
          else nb--;
        }
        ids = join(cls, sep, a.subarray(0, na), b.subarray(0, nb));
      }
      pieces.push(ids);
    }
  } finally {
    tokenizer.setTruncation(saved);
  }
  const offsets = new Int32Array(pieces.length + 1);
  pieces.forEach((p, i) => (offsets[i + 1] = offsets[i] + p.length));
  const ids = new Int32Array(offsets[pieces.length]);
  pieces.forEach((p, i) => ids.set(p, offsets[i]));
  return { ids, offsets, count: pieces.length, labels: Int32Array.from(labels), truncated };
}

/** The tokens between the template's [CLS] and [SEP]. */
function inner(ids: Int32Array, cls: number, sep: number): Int32Array {
  const start = ids[0] === cls ? 1 : 0;
  const end = ids.length > start && ids[ids.length - 1] === sep ? ids.length - 1 : ids.length;
  return ids.subarray(start, end);
}

/** [CLS] part [SEP] for each part. */
function join(cls: number, sep: number, ...parts: Int32Array[]): Int32Array {
  const out = new Int32Array(1 + parts.reduce((n, p) => n + p.length + 1, 0));
  out[0] = cls;
  let at = 1;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
    out[at++] = sep;
  }
  return out;
}

/**
 * A seeded split of the examples: `validFraction` of them (rounded down to whole examples, at least
 * one) for validation, the rest for training, the same for the same seed.
 */
export function splitLabelled<T>(
  examples: readonly T[],
  validFraction: number,
  seed: number,
): { train: T[]; valid: T[] } {
  if (!(validFraction > 0 && validFraction < 1))
    throw new Error(`validation fraction must be in (0, 1), got ${validFraction}`);
  return sampleAndSplit(examples, { sample: 1, trainFraction: 1 - validFraction, seed });
}

/** How a labelled loader makes batches. */
export interface LabelledLoaderOptions {
  batchSize: number;
  /** Buffers are batchSize x maxLen; every sentence must fit (encodeLabelled cuts them). */
  maxLen: number;
  padId: number;
  /** A fresh permutation each epoch from (seed, epoch) (training); default false (validation). */
  shuffle?: boolean;
  seed?: number;
  /** "unpadded" (default) or "padded". */
  pack?: PackMode;
}

/**
 * Where a labelled loader stands: the next batch `next()` returns. In the masked-LM loader's shape
 * (LoaderPosition), whose `rng` is the masks' generator; labelled batches draw nothing at random
 * (the epoch's order comes from (seed, epoch)), so theirs is the seed's generator, never advanced.
 */
export type LabelledPosition = LoaderPosition;

/**
 * Batches of a labelled split, by (epoch, index), with a position to save and restore.
 *
 * @example
 *   const train = new LabelledLoader(split, { batchSize: 32, maxLen: 128, padId: 0, shuffle: true, seed: 42 });
 *   const { batch } = train.next();   // batch.labels[batch.seqs[3b]] is sentence b's class
 */
export class LabelledLoader {
  readonly batchesPerEpoch: number;
  readonly batchSize: number;
  private readonly buffers: BatchBuffers;
  private readonly order: Int32Array;
  private readonly layout: CollateOptions;
  private orderEpoch = -1;
  private epoch = 0;
  private index = 0;
  private readonly rngState: RngState;

  constructor(
    private readonly split: LabelledSplit,
    private readonly options: LabelledLoaderOptions,
  ) {
    if (split.count === 0) throw new Error("labelled loader: the split has no examples");
    this.batchSize = options.batchSize;
    this.batchesPerEpoch = batchesPerEpoch(split.count, options.batchSize);
    this.buffers = new BatchBuffers(Math.min(options.batchSize, split.count), options.maxLen);
    this.order = new Int32Array(split.count);
    this.layout = { padId: options.padId, pack: options.pack ?? "unpadded" };
    this.rngState = Rng.derive(options.seed ?? DEFAULT_CONFIG.seed, "data/labelled").state();
  }

  get count(): number {
    return this.split.count;
  }

  /** Batch `index` of `epoch` (reused by the next call): each sentence's class on its first row. */
  batch(epoch: number, index: number): Batch {
    if (!(Number.isInteger(index) && index >= 0 && index < this.batchesPerEpoch))
      throw new Error(`batch index ${index} outside [0, ${this.batchesPerEpoch})`);
    const shuffle = this.options.shuffle ?? DEFAULT_CONFIG.shuffle;
    if (this.orderEpoch !== epoch && (shuffle || this.orderEpoch === -1))
      epochOrder(this.split.count, epoch, { shuffle, seed: this.options.seed }, this.order);
    this.orderEpoch = epoch;
    const start = index * this.batchSize;
    const picked = this.order.subarray(start, Math.min(start + this.batchSize, this.split.count));
    const batch = collate(this.split, picked, this.buffers, this.layout);
    for (let b = 0; b < picked.length; b++) batch.labels[batch.seqs[3 * b]] = this.split.labels[picked[b]];
    batch.numMasked = picked.length;
    return batch;
  }

  /** The batch at the current position, then moves on (to the next epoch after the last batch). */
  next(): { epoch: number; index: number; batch: Batch } {
    const { epoch, index } = this;
    const batch = this.batch(epoch, index);
    if (++this.index === this.batchesPerEpoch) {
      this.index = 0;
      this.epoch++;
    }
    return { epoch, index, batch };
  }

  position(): LabelledPosition {
    return { epoch: this.epoch, index: this.index, rng: this.rngState };
  }

  restore(p: Pick<LabelledPosition, "epoch" | "index">): void {
    if (!(
      Number.isInteger(p.epoch) &&
      p.epoch >= 0 &&
      Number.isInteger(p.index) &&
      p.index >= 0 &&
      p.index < this.batchesPerEpoch
    ))
      throw new Error(`labelled loader: position ${JSON.stringify(p)} is outside this split`);
    this.epoch = p.epoch;
    this.index = p.index;
  }

  /** The most rows and sentences one batch can have (the B longest sentences; padded: B x the longest). */
  largestBatch(): { maxRows: number; maxSeqs: number } {
    const { offsets, count } = this.split;
    const lengths = Int32Array.from({ length: count }, (_, i) => offsets[i + 1] - offsets[i])
      .sort()
      .reverse();
    const B = Math.min(this.batchSize, count);
    let rows = 0;
    for (let i = 0; i < B; i++) rows += lengths[i];
    const maxRows = (this.options.pack ?? "unpadded") === "padded" ? B * lengths[0] : rows;
    return { maxRows, maxSeqs: B };
  }
}
