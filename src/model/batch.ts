/**
 * Batch layouts. Data code produces a padded batch (B sentences padded to S columns); the model
 * runs on packed rows: a list of token rows plus per-sequence descriptors (start, L, validKeys), as
 * the attention kernel expects (see engine/backend.ts).
 *
 * Two packings of the same padded batch give the same outputs at real tokens:
 * - "unpadded": only the real tokens become rows (sum of lengths rows; each sequence has L = K =
 *   its length). Every layer but attention works per token, so this skips all the padding work.
 * - "padded": all B*S rows, L = S and K = the real length: the tutorial's way (padding is computed
 *   and masked out of attention as keys). Padded rows never carry a label.
 */

/** B sentences padded to S columns; label -100 (any negative) means no label. */
export interface PaddedBatch {
  B: number;
  S: number;
  /** [B*S] token ids, row b at b*S. */
  ids: Int32Array;
  /** [B] real lengths (<= S). */
  lengths: Int32Array;
  /** [B*S] target ids at masked positions, negative elsewhere. */
  labels: Int32Array;
}

/** Packed rows ready for the model. Arrays may be longer than needed (reused buffers). */
export interface PackedBatch {
  /** Number of rows T. */
  rows: number;
  /** [T] token ids. */
  ids: Int32Array;
  /** [T] position of each row in its sentence (index into the positional table). */
  positions: Int32Array;
  /** [T] label per row, negative = none. */
  labels: Int32Array;
  /** Number of sequences. */
  numSeqs: number;
  /** [3 * numSeqs] (first row, L, valid keys) per sequence. */
  seqs: Int32Array;
}

export type PackMode = "unpadded" | "padded";

/**
 * Packs a padded batch into rows. `out`, when given and large enough, is reused (no allocation).
 *
 * @example
 *   const padded = { B: 2, S: 4, ids: Int32Array.from([1, 7, 2, 0, 1, 3, 9, 2]),
 *                    lengths: Int32Array.from([3, 4]), labels: Int32Array.from([-100, 7, -100, -100, -100, 8, -100, -100]) };
 *   const packed = packBatch(padded, "unpadded"); // packed.rows === 7, seqs = [0,3,3, 3,4,4]
 */
export function packBatch(batch: PaddedBatch, mode: PackMode, out?: PackedBatch): PackedBatch {
  const { B, S, ids, lengths, labels } = batch;
  if (ids.length < B * S || labels.length < B * S || lengths.length < B) {
    throw new Error(
      `packBatch: expected ids and labels of ${B}x${S} values and ${B} lengths, got ${ids.length}, ${labels.length}, ${lengths.length}`,
    );
  }
  let total = 0;
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (!(len >= 0 && len <= S)) throw new Error(`packBatch: sentence ${b} has length ${len}, expected 0..${S}`);
    total += len;
  }
  const T = mode === "padded" ? B * S : total;
  const fits =
    out !== undefined &&
    out.ids.length >= T &&
    out.positions.length >= T &&
    out.labels.length >= T &&
    out.seqs.length >= 3 * B;
  const res = fits ? out : emptyPacked(T, B);
  res.rows = T;
  res.numSeqs = B;
  let row = 0;
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    const L = mode === "padded" ? S : len;
    res.seqs[3 * b] = row;
    res.seqs[3 * b + 1] = L;
    res.seqs[3 * b + 2] = len;
    for (let j = 0; j < L; j++) {
      res.ids[row + j] = ids[b * S + j]!;
      res.positions[row + j] = j;
      res.labels[row + j] = j < len ? labels[b * S + j] : -100;
    }
    row += L;
  }
  return res;
}

/** A packed batch with room for `rows` rows and `seqs` sequences. */
export function emptyPacked(rows: number, seqs: number): PackedBatch {
  return {
    rows: 0,
    ids: new Int32Array(rows),
    positions: new Int32Array(rows),
    labels: new Int32Array(rows),
    numSeqs: 0,
    seqs: new Int32Array(3 * seqs),
  };
}
