/** Small deterministic batches and models for the model tests. */
import { batchOf, type Batch, type PackMode, type SentenceRow } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";
import type { ModelConfig } from "../../src/model/config.js";
import type { MlmModel } from "../../src/model/model.js";
import assert from "node:assert/strict";

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

/**
 * Central-difference check of d loss / d params at a few entries of every tensor (the model's grads
 * must hold the analytic gradient at the current parameters). `usedIds`: the batch's token ids; an
 * absent token's embedding must get no gradient, unless the output layer is tied to it.
 */
export function checkModelGradient(
  m: Pick<MlmModel, "grads" | "config" | "specs" | "params">,
  loss: () => number,
  usedIds: Set<number>,
): void {
  const grads = Float64Array.from(m.grads);
  const C = m.config.dModel;
  const h = 1e-3;
  let checked = 0;
  for (const s of m.specs) {
    let picks: number[];
    if (s.name === "embed.weight") {
      const ids = [...usedIds].slice(0, 3);
      picks = ids.map((id, j) => id * C + ((j * 5) % C));
      const unused = [...Array(m.config.vocabSize).keys()].find((id) => !usedIds.has(id))!;
      if (m.config.tieOutput) picks.push(unused * C + 1);
      else
        for (let c = 0; c < C; c++)
          assert.equal(grads[s.offset + unused * C + c], 0, "an absent token's embedding gets no gradient");
    } else picks = [0, Math.floor(s.size / 2), s.size - 1, Math.floor(s.size / 3)];
    for (const j of picks) {
      const i = s.offset + j;
      const old = m.params[i];
      m.params[i] = old + h;
      const lp = loss();
      m.params[i] = old - h;
      const lm = loss();
      m.params[i] = old;
      const num = (lp - lm) / (2 * h);
      assert.ok(
        Math.abs(num - grads[i]) <= 2e-4 + 2e-2 * Math.abs(num),
        `${s.name}[${j}]: analytic ${grads[i]}, numeric ${num}`,
      );
      checked++;
    }
  }
  assert.ok(checked >= m.specs.length * 3);
}
