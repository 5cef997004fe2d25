/** Small deterministic batches and models for the model tests. */
import { batchOf, type Batch, type PackMode, type SentenceRow } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";
import type { ModelConfig } from "../../src/model/config.js";

/** The tiny configuration of the gradient checks. */
export const TINY: Partial<ModelConfig> = {
  vocabSize: 50,
  dModel: 16,
  numLayers: 2,
  numHeads: 2,
  dFF: 32,
  dropout: 0,
  maxLen: 16,
};

/**
 * B sentences of random lengths in [minLen, S], ids in [5, V), labels at about `labelRate` of the
 * positions (at least one per sentence when `labelRate` > 0).
 */
export function randomSentences(
  seed: number,
  B: number,
  S: number,
  V: number,
  labelRate = 0.3,
  minLen = 1,
): SentenceRow[] {
  const rng = new Rng(seed);
  const sentences: SentenceRow[] = [];
  for (let b = 0; b < B; b++) {
    const len = minLen + rng.int(S - minLen + 1);
    const ids = new Int32Array(len);
    const labels = new Int32Array(len).fill(-100);
    for (let j = 0; j < len; j++) {
      ids[j] = 5 + rng.int(V - 5);
      if (rng.float() < labelRate) labels[j] = 5 + rng.int(V - 5);
    }
    if (labelRate > 0 && len > 0) {
      const j = rng.int(len);
      if (labels[j] < 0) labels[j] = 5 + rng.int(V - 5);
    }
    sentences.push({ ids, labels });
  }
  return sentences;
}

/** `randomSentences` as an "unpadded" batch. */
export function randomBatch(...args: Parameters<typeof randomSentences>): Batch {
  return packedRandomBatch("unpadded", ...args);
}

/** `randomSentences` as a batch of width S (padding id 0), packed as `pack` says. */
export function packedRandomBatch(pack: PackMode, ...args: Parameters<typeof randomSentences>): Batch {
  return batchOf(randomSentences(...args), { pack, width: args[2] });
}
