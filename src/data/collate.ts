/**
 * Collate: turns a list of sentence indices into one masked batch of packed rows (see batch.ts),
 * written into buffers that the caller allocates once (for the largest batch, B x maxLen rows) and
 * reuses for every batch.
 *
 * Padding "longest" (default) pads to the longest sentence of the batch; "max" pads to maxLen (128 in
 * the tutorial), which makes most of a "padded" batch's work padding on short Tatoeba sentences. Masks
 * are drawn only for real tokens, in sentence order, so the same sentences and generator state give
 * the same masks whatever the padding and the packing.
 */
import type { Rng } from "../util/rng.js";
import { IGNORE_LABEL, type Batch, type PackMode, type Padding } from "./batch.js";
import type { TokenizedSplit } from "./cache.js";
import type { Masking } from "./masking.js";
import { copySentence, type TokenSource } from "./token-source.js";

/** Buffers for batches of up to `maxBatch` sentences of up to `maxLen` tokens. */
export class BatchBuffers {
  /** [maxBatch * maxLen] each: the most rows a batch can have. */
  readonly ids: Int32Array;
  readonly positions: Int32Array;
  readonly labels: Int32Array;
  /** [3 * maxBatch] */
  readonly seqs: Int32Array;
  /** The Batch object handed out (its fields are updated in place by each collate). */
  readonly batch: Batch;

  constructor(
    readonly maxBatch: number,
    readonly maxLen: number,
  ) {
    if (!(Number.isInteger(maxBatch) && maxBatch > 0))
      throw new Error(`batch size must be a positive integer, got ${maxBatch}`);
    if (!(Number.isInteger(maxLen) && maxLen > 0)) throw new Error(`maxLen must be a positive integer, got ${maxLen}`);
    this.ids = new Int32Array(maxBatch * maxLen);
    this.positions = new Int32Array(maxBatch * maxLen);
    this.labels = new Int32Array(maxBatch * maxLen);
    this.seqs = new Int32Array(3 * maxBatch);
    this.batch = {
      numSeqs: 0,
      width: 0,
      rows: 0,
      tokens: 0,
      ids: this.ids,
      positions: this.positions,
      labels: this.labels,
      numMasked: 0,
      seqs: this.seqs,
    };
  }
}

export interface CollateOptions {
  padId: number;
  /** Default "longest". */
  padding?: Padding;
  /** Default "unpadded". */
  pack?: PackMode;
}

/**
 * Fills `buffers` with the batch of sentences `indices` of `split` (in memory or on disk), masked with `masking` and `rng`
 * (both omitted: no masking, every label IGNORE_LABEL). Allocates nothing but the subarray views.
 *
 * @example
 *   const buffers = new BatchBuffers(64, 128);
 *   const batch = collate(split, order.subarray(0, 64), buffers, { padId: 0 }, masking, rng);
 *   // sentence b: rows batch.seqs[3b] .. + batch.seqs[3b+1]; batch.ids[row], batch.labels[row]
 */
export function collate(
  split: TokenSource,
  indices: ArrayLike<number>,
  buffers: BatchBuffers,
  options: CollateOptions,
  masking?: Masking,
  rng?: Rng,
): Batch {
  const B = indices.length;
  const offsets = split.offsets;
  if (B === 0 || B > buffers.maxBatch)
    throw new Error(`collate: batch of ${B} sentences, expected 1 to ${buffers.maxBatch}`);
  let longest = 0;
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < split.count)) throw new Error(`collate: sentence index ${i} outside [0, ${split.count})`);
    const len = offsets[i + 1] - offsets[i];
    if (len > buffers.maxLen)
      throw new Error(`collate: sentence ${i} has ${len} tokens, more than maxLen=${buffers.maxLen}`);
    if (len > longest) longest = len;
  }
  const S = (options.padding ?? "longest") === "max" ? buffers.maxLen : longest;
  const padded = (options.pack ?? "unpadded") === "padded";
  const { ids, positions, labels, seqs } = buffers;
  let row = 0;
  let tokens = 0;
  for (let b = 0; b < B; b++) {
    const len = copySentence(split, indices[b], ids, row);
    const L = padded ? S : len;
    seqs[3 * b] = row;
    seqs[3 * b + 1] = L;
    seqs[3 * b + 2] = len;
    ids.fill(options.padId, row + len, row + L);
    labels.fill(IGNORE_LABEL, row, row + L);
    for (let j = 0; j < L; j++) positions[row + j] = j;
    row += L;
    tokens += len;
  }
  const numMasked = masking ? applyMask(ids, labels, seqs, B, masking, rng) : 0;

  const batch = buffers.batch;
  batch.numSeqs = B;
  batch.width = S;
  batch.rows = row;
  batch.tokens = tokens;
  batch.ids = ids.subarray(0, row);
  batch.positions = positions.subarray(0, row);
  batch.labels = labels.subarray(0, row);
  batch.numMasked = numMasked;
  batch.seqs = seqs.subarray(0, 3 * B);
  return batch;
}

/** One sentence given by hand: its token ids and, optionally, a label per token (negative: none). */
export interface SentenceRow {
  ids: ArrayLike<number>;
  labels?: ArrayLike<number>;
}

/**
 * A batch of sentences given by hand (inference, tests), without masking: the labels are the given
 * ones. `width` pads to that width instead of the longest sentence (with pack "padded"). The batch
 * has buffers of its own.
 *
 * @example
 *   const batch = batchOf([{ ids: [1, 7, 2] }, { ids: [1, 3, 9, 2], labels: [-100, 8, -100, -100] }]);
 *   // batch.rows === 7, batch.seqs = [0,3,3, 3,4,4], batch.labels[4] === 8
 */
export function batchOf(
  sentences: readonly SentenceRow[],
  options: { pack?: PackMode; padId?: number; width?: number } = {},
): Batch {
  const offsets = new Int32Array(sentences.length + 1);
  sentences.forEach((s, b) => {
    if (s.labels !== undefined && s.labels.length !== s.ids.length)
      throw new Error(`batchOf: sentence ${b} has ${s.ids.length} ids but ${s.labels.length} labels`);
    offsets[b + 1] = offsets[b] + s.ids.length;
  });
  const ids = new Int32Array(offsets[sentences.length]);
  sentences.forEach((s, b) => ids.set(s.ids, offsets[b]));
  const split: TokenizedSplit = { ids, offsets, count: sentences.length };
  let longest = 1;
  for (let b = 0; b < split.count; b++) longest = Math.max(longest, offsets[b + 1] - offsets[b]);
  const width = options.width ?? longest;
  const buffers = new BatchBuffers(Math.max(1, sentences.length), width);
  const order = Int32Array.from({ length: split.count }, (_, b) => b);
  const padding = options.width === undefined ? "longest" : "max";
  const batch = collate(split, order, buffers, { padId: options.padId ?? 0, padding, pack: options.pack });
  sentences.forEach((s, b) => {
    if (s.labels === undefined) return;
    const row = batch.seqs[3 * b];
    for (let j = 0; j < s.labels.length; j++) {
      if (s.labels[j] < 0) continue;
      batch.labels[row + j] = s.labels[j];
      batch.numMasked++;
    }
  });
  return batch;
}

/**
 * Masks a batch in place (see masking.ts for the rules), sentence by sentence over its real tokens.
 * Returns how many rows were masked. One uniform draw per candidate token, and a second one per
 * selected token only when the 80/10/10 split is in use.
 */
function applyMask(
  ids: Int32Array,
  labels: Int32Array,
  seqs: Int32Array,
  B: number,
  m: Masking,
  rng: Rng | undefined,
): number {
  if (!rng) throw new Error("collate: masking needs a random generator");
  const { probability: p, special, maskId, randomPool } = m;
  const splitSelected = m.maskTokenRate < 1;
  const maskRate = m.maskTokenRate;
  const maskOrRandom = m.maskTokenRate + m.randomTokenRate;
  let count = 0;
  for (let b = 0; b < B; b++) {
    const row = seqs[3 * b];
    const len = seqs[3 * b + 2];
    for (let s = 0; s < len; s++) {
      const at = row + s;
      const id = ids[at];
      if (special[id] === 1 || rng.float() >= p) continue;
      labels[at] = id;
      count++;
      if (!splitSelected) {
        ids[at] = maskId;
      } else {
        const u = rng.float();
        if (u < maskRate) ids[at] = maskId;
        else if (u < maskOrRandom) ids[at] = randomPool[rng.int(randomPool.length)];
        // else: the token keeps its id, but is still predicted
      }
    }
  }
  return count;
}
