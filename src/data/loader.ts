/**
 * A small DataLoader for masked-language-model training: epoch order + collate + masking, with a
 * position that can be saved in a checkpoint and restored to resume on the exact next batch.
 *
 * Masks:
 * - training (default): drawn afresh for every batch from one seeded generator, whose state is part of
 *   the saved position;
 * - `fixedMasks: true` (validation): batch i is always masked with a generator derived from (seed, i),
 *   so every evaluation scores the same positions and validation losses are comparable.
 */
import { Rng, type RngState } from "../util/rng.js";
import { isInMemory, type TokenSource } from "./token-source.js";
import { checkPackMode, checkPadding, type Batch, type PackMode, type Padding } from "./batch.js";
import { BatchBuffers, collate, type CollateOptions } from "./collate.js";
import { createMasking, type MaskOptions, type Masking, type SpecialSpec } from "./masking.js";
import { batchesPerEpoch, epochOrder } from "./order.js";
import { DEFAULT_CONFIG } from "../config/table.js";

export interface DataLoaderOptions {
  /** Sentences per batch (the last batch of an epoch may be smaller). The tutorial: 64. */
  batchSize: number;
  /** "longest" (default) or "max" (every batch padded to maxLen, the tutorial's way). */
  padding?: Padding;
  /** "unpadded" (default: rows of real tokens only) or "padded" (padding computed, the tutorial's way). */
  pack?: PackMode;
  /** Longest sentence allowed, in tokens; the buffers are batchSize x maxLen. Default: the configuration's maxLen. */
  maxLen?: number;
  /** Shuffle each epoch with a permutation from (seed, epoch). Default false (the tutorial). */
  shuffle?: boolean;
  /** Seed of shuffling and masking. Default: the configuration's seed. */
  seed?: number;
  /** Masking rule (see masking.ts), or false for no masking (labels all -100). Default: the tutorial's 15%. */
  mask?: MaskOptions | false;
  /** Masks fixed per batch index (validation). Default false. */
  fixedMasks?: boolean;
  padId: number;
  maskId: number;
  vocabSize: number;
  /** Ids never masked. Following the tutorial: [PAD], [CLS], [SEP] (and [MASK]); [UNK] stays maskable. */
  isSpecial: SpecialSpec;
}

/** Where a loader stands: the next batch `next()` returns, and the training mask generator's state. */
export interface LoaderPosition {
  epoch: number;
  index: number;
  rng: RngState;
}

/**
 * @example
 *   const train = new MlmDataLoader(split, { batchSize: 64, padId: 0, maskId: 3, vocabSize: 25000, isSpecial: [0, 1, 2, 3] });
 *   for (let step = 0; step < 1230; step++) {
 *     const { epoch, index, batch } = train.next();   // batch.ids, batch.labels: [batch.rows]
 *     // ... a training step on batch
 *   }
 *   checkpoint.data = train.position();              // later: train.restore(checkpoint.data)
 */
export class MlmDataLoader {
  /** ceil(count / batchSize). */
  readonly batchesPerEpoch: number;
  readonly batchSize: number;
  readonly maxLen: number;
  readonly seed: number;
  private readonly split: TokenSource;
  /** How batches are laid out in rows (see batch.ts). */
  readonly pack: PackMode;
  private readonly padding: Padding;
  private readonly shuffle: boolean;
  private readonly fixedMasks: boolean;
  private readonly layout: CollateOptions;
  private readonly masking: Masking | undefined;
  private readonly buffers: BatchBuffers;
  private readonly order: Int32Array;
  private orderEpoch = -1;
  private rng: Rng;
  private epoch = 0;
  private index = 0;

  /** `split`: the sentences in memory, or in the on-disk token cache (read batch by batch). */
  constructor(split: TokenSource, options: DataLoaderOptions) {
    if (split.count === 0) throw new Error("data loader: the split has no sentences");
    this.split = split;
    this.batchSize = options.batchSize;
    this.batchesPerEpoch = batchesPerEpoch(split.count, options.batchSize);
    this.maxLen = options.maxLen ?? DEFAULT_CONFIG.maxLen;
    this.seed = options.seed ?? DEFAULT_CONFIG.seed;
    this.padding = checkPadding(options.padding ?? "longest", "data loader");
    this.pack = checkPackMode(options.pack ?? "unpadded", "data loader");
    this.shuffle = options.shuffle ?? DEFAULT_CONFIG.shuffle;
    this.fixedMasks = options.fixedMasks ?? false;
    this.layout = { padId: options.padId, padding: this.padding, pack: this.pack };
    checkSplit(split, this.maxLen, options.vocabSize);
    this.masking =
      options.mask === false
        ? undefined
        : createMasking({
            ...options.mask,
            maskId: options.maskId,
            vocabSize: options.vocabSize,
            isSpecial: options.isSpecial,
          });
    this.buffers = new BatchBuffers(Math.min(options.batchSize, split.count), this.maxLen);
    this.order = new Int32Array(split.count);
    this.rng = Rng.derive(this.seed, "data/mask");
  }

  /** Sentences in the split. */
  get count(): number {
    return this.split.count;
  }

  /**
   * Batch `index` of `epoch`, masked with `rng` when given, else with the loader's own generator
   * (training) or the fixed per-index generator (`fixedMasks`). The returned Batch and its arrays are
   * reused by the next call.
   */
  batch(epoch: number, index: number, rng?: Rng): Batch {
    if (!(Number.isInteger(index) && index >= 0 && index < this.batchesPerEpoch)) {
      throw new Error(`batch index ${index} outside [0, ${this.batchesPerEpoch})`);
    }
    if (this.orderEpoch !== epoch) {
      // Without shuffling every epoch has the same order; compute it once.
      if (this.shuffle || this.orderEpoch === -1)
        epochOrder(this.split.count, epoch, { shuffle: this.shuffle, seed: this.seed }, this.order);
      this.orderEpoch = epoch;
    }
    const start = index * this.batchSize;
    const end = Math.min(start + this.batchSize, this.split.count);
    // Fixed masks cost one small generator per validation batch; training batches allocate nothing.
    const maskRng = rng ?? (this.fixedMasks ? Rng.derive(this.seed, `data/fixed-mask/${index}`) : this.rng);
    return collate(this.split, this.order.subarray(start, end), this.buffers, this.layout, this.masking, maskRng);
  }

  /** The batch at the current position, then moves to the next one (to the next epoch after the last). */
  next(): { epoch: number; index: number; batch: Batch } {
    const epoch = this.epoch;
    const index = this.index;
    const batch = this.batch(epoch, index);
    this.index++;
    if (this.index === this.batchesPerEpoch) {
      this.index = 0;
      this.epoch++;
    }
    return { epoch, index, batch };
  }

  /** The position to save in a checkpoint (JSON-serialisable). */
  position(): LoaderPosition {
    return { epoch: this.epoch, index: this.index, rng: this.rng.state() };
  }

  /**
   * The most rows and sentences one batch of this loader can have, from the split's lengths: the B
   * longest sentences ("unpadded"), or B times the widest padding ("padded"). Model buffers are sized
   * from it once.
   */
  largestBatch(): { maxRows: number; maxSeqs: number } {
    const { offsets, count } = this.split;
    // A histogram of the lengths (not a sorted copy): memory stays at maxLen counts for any split.
    const sentencesOfLength = new Float64Array(this.maxLen + 1);
    for (let i = 0; i < count; i++) sentencesOfLength[offsets[i + 1] - offsets[i]]++;
    const B = Math.min(this.batchSize, count);
    let longest = this.maxLen;
    while (sentencesOfLength[longest] === 0) longest--;
    let maxRows = 0;
    if (this.pack === "padded") maxRows = B * (this.padding === "max" ? this.maxLen : longest);
    else {
      // The B longest sentences: take lengths from the top of the histogram.
      let left = B;
      for (let len = longest; left > 0; len--) {
        const take = Math.min(left, sentencesOfLength[len]);
        maxRows += take * len;
        left -= take;
      }
    }
    return { maxRows, maxSeqs: B };
  }

  /** Continues from a saved position: `next()` then returns exactly the batch it would have returned. */
  restore(position: LoaderPosition): void {
    if (!(
      Number.isInteger(position.epoch) &&
      position.epoch >= 0 &&
      Number.isInteger(position.index) &&
      position.index >= 0 &&
      position.index < this.batchesPerEpoch
    )) {
      throw new Error(
        `data loader: cannot restore position epoch ${position.epoch}, batch ${position.index} (${this.batchesPerEpoch} batches per epoch)`,
      );
    }
    this.epoch = position.epoch;
    this.index = position.index;
    this.rng = Rng.fromState(position.rng);
  }
}

/**
 * Every sentence fits maxLen and every id is inside the vocabulary (checked once, not per batch; a
 * split on disk was measured when its cache was written and verified).
 */
function checkSplit(split: TokenSource, maxLen: number, vocabSize: number): void {
  if (!isInMemory(split)) {
    if (split.maxLength > maxLen)
      throw new Error(`data loader: a sentence has ${split.maxLength} tokens, expected 1 to maxLen=${maxLen}`);
    if (split.maxId >= vocabSize)
      throw new Error(`data loader: token id ${split.maxId} is outside the vocabulary [0, ${vocabSize})`);
    return;
  }
  const { ids, offsets } = split;
  for (let i = 0; i < split.count; i++) {
    const len = offsets[i + 1] - offsets[i];
    if (len < 1 || len > maxLen)
      throw new Error(`data loader: sentence ${i} has ${len} tokens, expected 1 to maxLen=${maxLen}`);
  }
  const total = offsets[split.count];
  for (let k = 0; k < total; k++) {
    const id = ids[k];
    if (id < 0 || id >= vocabSize)
      throw new Error(`data loader: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
}
