import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import {
  MlmDataLoader,
  epochOrder,
  batchesPerEpoch,
  tokenizeSentences,
  type DataLoaderOptions,
  type Batch,
} from "../../src/data/index.js";
import { WordTokenizer, PAD, MASK, CLS, SEP } from "./tiny-tokenizer.js";

const tok = new WordTokenizer(16);
const sentences = Array.from({ length: 150 }, (_, i) => `w${i % 37} x${i % 11} ${"y ".repeat(i % 9)} z${i % 5}`);
const split = tokenizeSentences(sentences, tok.encode, { maxLen: 16, progress: false });
const base: DataLoaderOptions = {
  batchSize: 32,
  padId: PAD,
  maskId: MASK,
  vocabSize: tok.vocabSize,
  isSpecial: [PAD, CLS, SEP, MASK],
  maxLen: 16,
};

function snapshot(b: Batch): { width: number; ids: number[]; labels: number[]; seqs: number[] } {
  return { width: b.width, ids: [...b.ids], labels: [...b.labels], seqs: [...b.seqs] };
}

test("epoch order: identity by default; seeded shuffle differs per epoch and is reproducible", () => {
  assert.deepEqual([...epochOrder(5, 0)], [0, 1, 2, 3, 4]);
  assert.deepEqual([...epochOrder(5, 9)], [0, 1, 2, 3, 4]);
  const e0 = [...epochOrder(100, 0, { shuffle: true, seed: 1 })];
  const e1 = [...epochOrder(100, 1, { shuffle: true, seed: 1 })];
  assert.deepEqual(
    [...e0].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(e0, e1);
  assert.deepEqual([...epochOrder(100, 1, { shuffle: true, seed: 1 })], e1);
  assert.notDeepEqual([...epochOrder(100, 1, { shuffle: true, seed: 2 })], e1);
  assert.equal(batchesPerEpoch(150, 32), 5);
  assert.equal(batchesPerEpoch(128, 32), 4);
});

test("batches cover the split in order, last one smaller, like DataLoader without shuffle", () => {
  const loader = new MlmDataLoader(split, { ...base, mask: false });
  assert.equal(loader.batchesPerEpoch, 5);
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    const b = loader.batch(0, i);
    assert.equal(b.numSeqs, i < 4 ? 32 : 22);
    for (let r = 0; r < b.numSeqs; r++) {
      const k = i * 32 + r;
      const want = split.ids.subarray(split.offsets[k], split.offsets[k + 1]);
      const first = b.seqs[3 * r];
      assert.deepEqual([...b.ids.subarray(first, first + b.seqs[3 * r + 2])], [...want]);
      seen.push(k);
    }
  }
  assert.deepEqual(
    seen,
    Array.from({ length: 150 }, (_, i) => i),
  );
  assert.throws(() => loader.batch(0, 5), /batch index 5 outside \[0, 5\)/);
  const maxPadded = new MlmDataLoader(split, { ...base, padding: "max", pack: "padded" }).batch(0, 0);
  assert.deepEqual([maxPadded.width, maxPadded.rows], [16, 32 * 16]);
});

test("pack mode and padding are loader options, checked once; largestBatch bounds every batch", () => {
  assert.throws(
    () => new MlmDataLoader(split, { ...base, pack: "dense" as never }),
    /data loader: pack must be "unpadded" or "padded", got "dense"/,
  );
  assert.throws(
    () => new MlmDataLoader(split, { ...base, padding: "short" as never }),
    /data loader: padding must be "longest" or "max", got "short"/,
  );
  for (const pack of ["unpadded", "padded"] as const) {
    for (const padding of ["longest", "max"] as const) {
      const loader = new MlmDataLoader(split, { ...base, pack, padding, shuffle: true, seed: 2 });
      assert.equal(loader.pack, pack);
      const { maxRows, maxSeqs } = loader.largestBatch();
      assert.equal(maxSeqs, 32);
      let most = 0;
      for (let epoch = 0; epoch < 3; epoch++) {
        for (let i = 0; i < loader.batchesPerEpoch; i++) {
          const b = loader.batch(epoch, i);
          assert.ok(b.rows <= maxRows, `${pack}/${padding}: ${b.rows} rows > ${maxRows}`);
          assert.equal(b.rows, pack === "padded" ? b.numSeqs * b.width : b.tokens);
          most = Math.max(most, b.rows);
        }
      }
      if (pack === "padded" && padding === "max") assert.equal(most, maxRows, "every full batch has B x maxLen rows");
    }
  }
});

test("validation masks are fixed: two evaluations score the same positions; training masks are fresh", () => {
  const valid = new MlmDataLoader(split, { ...base, fixedMasks: true, seed: 3 });
  const first = Array.from({ length: valid.batchesPerEpoch }, (_, i) => snapshot(valid.batch(0, i)));
  const second = Array.from({ length: valid.batchesPerEpoch }, (_, i) => snapshot(valid.batch(0, i)));
  assert.deepEqual(second, first);
  assert.ok(
    first.some((b) => b.labels.some((l) => l !== -100)),
    "something is masked",
  );

  const train = new MlmDataLoader(split, { ...base, seed: 3 });
  const t1 = snapshot(train.batch(0, 0));
  const t2 = snapshot(train.batch(0, 0));
  assert.notDeepEqual(t2.labels, t1.labels, "a new mask each time the batch is drawn");
  // An explicit generator overrides the loader's own.
  assert.deepEqual(snapshot(train.batch(0, 1, new Rng(9))), snapshot(train.batch(0, 1, new Rng(9))));
});

test("position save/restore resumes on exactly the next batch, across an epoch boundary, with shuffling", () => {
  const opts = { ...base, shuffle: true, seed: 11 };
  const a = new MlmDataLoader(split, opts);
  for (let i = 0; i < 4; i++) a.next();
  const saved = JSON.parse(JSON.stringify(a.position())) as ReturnType<MlmDataLoader["position"]>;
  assert.deepEqual([saved.epoch, saved.index], [0, 4]);
  const expected = Array.from({ length: 4 }, () => {
    const { epoch, index, batch } = a.next();
    return { epoch, index, ...snapshot(batch) };
  });
  assert.deepEqual(
    expected.map((e) => [e.epoch, e.index]),
    [
      [0, 4],
      [1, 0],
      [1, 1],
      [1, 2],
    ],
  );

  const b = new MlmDataLoader(split, opts);
  b.restore(saved);
  const got = Array.from({ length: 4 }, () => {
    const { epoch, index, batch } = b.next();
    return { epoch, index, ...snapshot(batch) };
  });
  assert.deepEqual(got, expected);
  assert.throws(() => b.restore({ ...saved, index: 99 }), /cannot restore position epoch 0, batch 99/);
});

test("the loader rejects ids outside the vocabulary and rows longer than maxLen", () => {
  assert.throws(
    () => new MlmDataLoader(split, { ...base, vocabSize: 10 }),
    /token id \d+ is outside the vocabulary \[0, 10\)/,
  );
  assert.throws(
    () => new MlmDataLoader(split, { ...base, maxLen: 4 }),
    /sentence \d+ has \d+ tokens, expected 1 to maxLen=4/,
  );
});
