/**
 * Collate: turns a list of sentence indices into one padded, masked batch, written into buffers that
 * the caller allocates once (for the largest batch, B x maxLen) and reuses for every batch.
 *
 * Padding "longest" (default) pads to the longest sentence of the batch; "max" pads to maxLen (128 in
 * the tutorial), which makes most of the work padding on short Tatoeba sentences. Masks are drawn only
 * for real tokens, so the same sentences and generator state give the same masks in both modes.
 */
import type { Rng } from "../util/rng.js";
import type { TokenizedSplit } from "./cache.js";
import type { Masking } from "./masking.js";

/** Label of a position the loss ignores (PyTorch's ignore_index). */
export const IGNORE_LABEL = -100;

/**
 * One batch, row-major. The arrays are views into reusable buffers: valid until the next collate.
 * Row b holds a sentence in positions [0, lengths[b]) and padId after.
 */
export interface Batch {
  /** Sentences in the batch. */
  B: number;
  /** Columns (sequence length) of this batch. */
  S: number;
  /** [B*S] input ids, masked tokens replaced, padded with padId. */
  ids: Int32Array;
  /** [B] real length of each row (the attention mask is `s < lengths[b]`). */
  lengths: Int32Array;
  /** [B*S] original id at masked positions, IGNORE_LABEL (-100) elsewhere. */
  labels: Int32Array;
  /** Number of labelled (masked) positions. */
  numMasked: number;
  /** [numMasked] flat positions b*S+s of the labelled tokens, ascending (for a head on masked positions only). */
  maskedPositions: Int32Array;
}

export type Padding = "longest" | "max";

/** Buffers for batches of up to `maxBatch` sentences of up to `maxLen` tokens. */
export class BatchBuffers {
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  readonly lengths: Int32Array;
  readonly positions: Int32Array;
  /** The Batch object handed out (its fields are updated in place by each collate). */
  readonly batch: Batch;

  constructor(
    readonly maxBatch: number,
    readonly maxLen: number,
  ) {
    if (!(Number.isInteger(maxBatch) && maxBatch > 0)) throw new Error(`batch size must be a positive integer, got ${maxBatch}`);
    if (!(Number.isInteger(maxLen) && maxLen > 0)) throw new Error(`maxLen must be a positive integer, got ${maxLen}`);
    this.ids = new Int32Array(maxBatch * maxLen);
    this.labels = new Int32Array(maxBatch * maxLen);
    this.lengths = new Int32Array(maxBatch);
    this.positions = new Int32Array(maxBatch * maxLen);
    this.batch = { B: 0, S: 0, ids: this.ids, lengths: this.lengths, labels: this.labels, numMasked: 0, maskedPositions: this.positions };
  }
}

export interface CollateOptions {
  padId: number;
  /** Default "longest". */
  padding?: Padding;
}

/**
 * Fills `buffers` with the padded batch of sentences `indices` of `split`, masked with `masking` and
 * `rng` (both omitted: no masking, every label -100). Allocates nothing but the subarray views.
 *
 * @example
 *   const buffers = new BatchBuffers(64, 128);
 *   const batch = collate(split, order.subarray(0, 64), buffers, { padId: 0 }, masking, rng);
 *   // batch.ids[b * batch.S + s], batch.labels[...], batch.lengths[b]
 */
export function collate(
  split: TokenizedSplit,
  indices: ArrayLike<number>,
  buffers: BatchBuffers,
  options: CollateOptions,
  masking?: Masking,
  rng?: Rng,
): Batch {
  const B = indices.length;
  const { ids: allIds, offsets } = split;
  if (B === 0 || B > buffers.maxBatch) throw new Error(`collate: batch of ${B} sentences, expected 1 to ${buffers.maxBatch}`);
  let longest = 0;
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < split.count)) throw new Error(`collate: sentence index ${i} outside [0, ${split.count})`);
    const len = offsets[i + 1] - offsets[i];
    if (len > buffers.maxLen) throw new Error(`collate: sentence ${i} has ${len} tokens, more than maxLen=${buffers.maxLen}`);
    if (len > longest) longest = len;
  }
  const S = (options.padding ?? "longest") === "max" ? buffers.maxLen : longest;
  const n = B * S;
  const ids = buffers.ids;
  const labels = buffers.labels;
  const lengths = buffers.lengths;
  ids.fill(options.padId, 0, n);
  labels.fill(IGNORE_LABEL, 0, n);
  for (let b = 0; b < B; b++) {
    const start = offsets[indices[b]];
    const len = offsets[indices[b] + 1] - start;
    lengths[b] = len;
    ids.set(allIds.subarray(start, start + len), b * S);
  }
  const numMasked = masking ? applyMask(ids, labels, lengths, B, S, masking, rng, buffers.positions) : 0;

  const batch = buffers.batch;
  batch.B = B;
  batch.S = S;
  batch.ids = ids.subarray(0, n);
  batch.labels = labels.subarray(0, n);
  batch.lengths = lengths.subarray(0, B);
  batch.numMasked = numMasked;
  batch.maskedPositions = buffers.positions.subarray(0, numMasked);
  return batch;
}

/**
 * Masks a padded batch in place (see masking.ts for the rules); records masked flat positions in
 * `positions`. Returns how many positions were masked. One uniform draw per candidate token, and a
 * second one per selected token only when the 80/10/10 split is in use.
 */
function applyMask(ids: Int32Array, labels: Int32Array, lengths: Int32Array, B: number, S: number, m: Masking, rng: Rng | undefined, positions: Int32Array): number {
  if (!rng) throw new Error("collate: masking needs a random generator");
  const { probability: p, special, maskId, randomPool } = m;
  const splitSelected = m.maskTokenRate < 1;
  const maskRate = m.maskTokenRate;
  const maskOrRandom = m.maskTokenRate + m.randomTokenRate;
  let count = 0;
  for (let b = 0; b < B; b++) {
    const row = b * S;
    const len = lengths[b];
    for (let s = 0; s < len; s++) {
      const at = row + s;
      const id = ids[at];
      if (special[id] === 1 || rng.float() >= p) continue;
      labels[at] = id;
      positions[count++] = at;
      if (!splitSelected) {
        ids[at] = maskId;
      } else {
        const u = rng.float();
        if (u < maskRate) ids[at] = maskId;
        else if (u < maskOrRandom) ids[at] = randomPool[rng.int(randomPool.length)]!;
        // else: the token keeps its id, but is still predicted
      }
    }
  }
  return count;
}
