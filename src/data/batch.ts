/**
 * The batch: the one layout from the data loader to the model. B sentences become packed token rows
 * plus a table of sequences (first row, rows L, valid keys K), the layout the attention kernel expects
 * (see engine/backend.ts). Two packings of the same sentences give the same outputs at real tokens:
 * - "unpadded" (default): only the real tokens become rows (sum of lengths rows; each sequence has
 *   L = K = its length). Every layer but attention works per token, so this skips all padding work.
 * - "padded": every sentence padded to the batch width S, B*S rows, L = S and K = the real length:
 *   the tutorial's way (padding is computed and masked out of attention as keys). Padding rows never
 *   carry a label.
 *
 * Batches are made by `collate` (the loader) and `batchOf` (sentences given by hand), which check
 * what they are given; the model trusts the layout and only checks that the batch fits its buffers.
 */

/** Label of a row the loss ignores (PyTorch's ignore_index); any negative label is ignored. */
export const IGNORE_LABEL = -100;

/** How sentences become rows: only real tokens ("unpadded"), or padded to the batch width ("padded"). */
export type PackMode = "unpadded" | "padded";

/** The batch width: the longest sentence of the batch ("longest") or maxLen ("max", the tutorial's way). */
export type Padding = "longest" | "max";

/**
 * One batch of B sentences as T packed rows. The arrays are views of exactly their length, into
 * buffers reused by the next batch of the same maker.
 */
export interface Batch {
  /** Sentences B, one sequence each. */
  numSeqs: number;
  /** Width S the sentences are padded to (each "padded" sequence has S rows). */
  width: number;
  /** Rows T: the sum of the lengths ("unpadded") or B*S ("padded"). */
  rows: number;
  /** Real (non-padding) tokens: the sum of the sentences' lengths. */
  tokens: number;
  /** [T] token ids, masked tokens replaced, padding rows padId. */
  ids: Int32Array;
  /** [T] position of each row in its sentence (index into the positional table). */
  positions: Int32Array;
  /** [T] original id at masked rows, IGNORE_LABEL elsewhere. */
  labels: Int32Array;
  /** Labelled rows (labels >= 0). */
  numMasked: number;
  /** [3B] per sentence b: seqs[3b] first row, seqs[3b+1] rows L, seqs[3b+2] real length K <= L. */
  seqs: Int32Array;
}

const PACK_MODES: readonly PackMode[] = ["unpadded", "padded"];
const PADDINGS: readonly Padding[] = ["longest", "max"];

/** `mode` itself when it is a pack mode; a one-line error naming `what` otherwise. */
export function checkPackMode(mode: unknown, what: string): PackMode {
  if (!PACK_MODES.includes(mode as PackMode))
    throw new Error(`${what}: pack must be "unpadded" or "padded", got ${JSON.stringify(mode)}`);
  return mode as PackMode;
}

/** `padding` itself when it is a padding; a one-line error naming `what` otherwise. */
export function checkPadding(padding: unknown, what: string): Padding {
  if (!PADDINGS.includes(padding as Padding))
    throw new Error(`${what}: padding must be "longest" or "max", got ${JSON.stringify(padding)}`);
  return padding as Padding;
}
