/**
 * Where a loader reads the token ids of its sentences: a split held in memory (`TokenizedSplit`, the
 * tutorial's way) or a split read from the on-disk token cache (`StoredSplit`, token-store.ts), whose
 * ids stay on disk and are read sentence by sentence when a batch needs them.
 *
 * Both keep every sentence's start in `offsets` ([count + 1], in memory: 4 or 8 bytes a sentence), so a
 * batch of any sentences costs one copy (in memory) or one positioned read (on disk) per sentence.
 */
import type { TokenizedSplit } from "./cache.js";

/** A split whose ids are read on demand (see token-store.ts). */
export interface StoredTokens {
  readonly count: number;
  /** [count + 1] start of each sentence in the split's ids, then the total. */
  readonly offsets: Uint32Array | Float64Array;
  /** The largest id and the longest sentence of the split (checked once against the vocabulary and maxLen). */
  readonly maxId: number;
  readonly maxLength: number;
  /** Copies the ids of sentence `i` into `out` from index `at`. */
  readSentence(i: number, out: Int32Array, at: number): void;
}

/** The sentences of a loader: in memory or on disk. */
export type TokenSource = TokenizedSplit | StoredTokens;

/** Whether the split's ids are all in memory. */
export function isInMemory(source: TokenSource): source is TokenizedSplit {
  return (source as TokenizedSplit).ids !== undefined;
}

/** Copies the ids of sentence `i` of `source` into `out` from index `at`; returns its length. */
export function copySentence(source: TokenSource, i: number, out: Int32Array, at: number): number {
  const start = source.offsets[i];
  const len = source.offsets[i + 1] - start;
  if (isInMemory(source)) out.set(source.ids.subarray(start, start + len), at);
  else source.readSentence(i, out, at);
  return len;
}

/**
 * The ids of sentence `i` (a new array): for code outside the training loop (exports, counting).
 *
 * @example
 *   const first = sentenceIds(split, 0); // Int32Array [2, 417, 88, 3]: [CLS] ... [SEP]
 */
export function sentenceIds(source: TokenSource, i: number): Int32Array {
  const out = new Int32Array(source.offsets[i + 1] - source.offsets[i]);
  copySentence(source, i, out, 0);
  return out;
}

/**
 * The whole split in memory (a copy for one on disk): for code that needs one array (the PyTorch
 * export writes shards, sentence by sentence, instead). Memory: 4 bytes a token.
 *
 * @example
 *   const { ids, offsets } = inMemory(data.train); // Int32Array views, as a TokenizedSplit
 */
export function inMemory(source: TokenSource): TokenizedSplit {
  if (isInMemory(source)) return source;
  const total = source.offsets[source.count];
  if (total > 0x7fffffff) throw new Error(`a split of ${total} tokens does not fit one array (at most 2^31 - 1)`);
  const ids = new Int32Array(total);
  const offsets = new Int32Array(source.count + 1);
  for (let i = 0; i < source.count; i++) {
    offsets[i] = source.offsets[i];
    source.readSentence(i, ids, offsets[i]);
  }
  offsets[source.count] = total;
  return { ids, offsets, count: source.count };
}
