// trainMaskProb and evalBatchSize: training batches select tokens at their own rate and size while
// validation keeps maskProb's fixed masks per batch of evalBatchSize, so runs that train otherwise are
// scored on exactly the same positions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/index.js";
import { runLoaders, tokenizeSentences } from "../../src/data/index.js";
import { trainBpeFromSentences } from "../../src/tokenizer/index.js";

const sentences = Array.from(
  { length: 400 },
  (_, i) => `the ${["cat", "dog", "bird"][i % 3]} sat on mat ${i % 17} again`,
);
const tokenizer = trainBpeFromSentences(sentences, { vocabSize: 80, minFrequency: 1 });
const encode = (s: string): Int32Array => Int32Array.from(tokenizer.encode(s).ids);
const train = tokenizeSentences(sentences.slice(0, 300), encode, { maxLen: 32, progress: false });
const valid = tokenizeSentences(sentences.slice(300), encode, { maxLen: 32, progress: false });

/** Labelled share of the real tokens of a loader's first `n` batches, and their labels. */
function masked(loader: ReturnType<typeof runLoaders>["train"], n: number): { share: number; labels: number[] } {
  let labelled = 0;
  let tokens = 0;
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const { batch } = loader.next();
    for (let t = 0; t < batch.rows; t++) if (batch.labels[t] >= 0) labelled++;
    tokens += batch.tokens;
    labels.push(...batch.labels.subarray(0, batch.rows));
  }
  return { share: labelled / tokens, labels };
}

test("trainMaskProb and the training batch size change training only; validation keeps its masks", () => {
  const base = runLoaders(resolveConfig({ batchSize: 20 }), tokenizer, train, valid);
  const more = runLoaders(
    resolveConfig({ batchSize: 7, evalBatchSize: 20, trainMaskProb: 0.4 }),
    tokenizer,
    train,
    valid,
  );
  const vBase = masked(base.valid, base.valid.batchesPerEpoch);
  const vMore = masked(more.valid, more.valid.batchesPerEpoch);
  assert.deepEqual(vMore.labels, vBase.labels, "the same validation masks");
  const tBase = masked(base.train, 15);
  const tMore = masked(more.train, 15);
  // [CLS]/[SEP] are never selected: the share of all tokens is a bit under the rate
  assert.ok(tBase.share > 0.09 && tBase.share < 0.16, `maskProb 0.15 selects ${tBase.share}`);
  assert.ok(tMore.share > 0.27 && tMore.share < 0.41, `trainMaskProb 0.4 selects ${tMore.share}`);
});
