/** Small deterministic batches and models for the model tests. */
import { Rng } from "../../src/util/rng.js";
import type { PaddedBatch } from "../../src/model/batch.js";
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
 * B sentences of random lengths in [minLen, S], ids in [5, V), padding id 0, labels at about
 * `labelRate` of the real positions (at least one per sentence when `labelRate` > 0).
 */
export function randomPadded(seed: number, B: number, S: number, V: number, labelRate = 0.3, minLen = 1): PaddedBatch {
  const rng = new Rng(seed);
  const ids = new Int32Array(B * S);
  const labels = new Int32Array(B * S).fill(-100);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const len = minLen + rng.int(S - minLen + 1);
    lengths[b] = len;
    for (let j = 0; j < len; j++) {
      ids[b * S + j] = 5 + rng.int(V - 5);
      if (rng.float() < labelRate) labels[b * S + j] = 5 + rng.int(V - 5);
    }
    if (labelRate > 0 && len > 0) {
      const j = rng.int(len);
      if (labels[b * S + j] < 0) labels[b * S + j] = 5 + rng.int(V - 5);
    }
  }
  return { B, S, ids, lengths, labels };
}
