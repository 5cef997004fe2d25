import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleAndSplit, splitSizes, roundHalfEven } from "../../src/data/index.js";

const items = Array.from({ length: 65241 }, (_, i) => `sentence ${i}`);

test("sizes follow pandas (round half to even) and scikit-learn (floor of the train fraction)", () => {
  // The tutorial's numbers on the bundled corpus: 5% of 65241 = 3262.05 -> 3262; 0.8 * 3262 = 2609.6 -> 2609.
  assert.deepEqual(splitSizes(65241, 0.05, 0.8), { sampleSize: 3262, trainSize: 2609, validSize: 653 });
  const { train, valid } = sampleAndSplit(items, { sample: 0.05, trainFraction: 0.8, seed: 42 });
  assert.equal(train.length, 2609);
  assert.equal(valid.length, 653);
  assert.deepEqual([roundHalfEven(2.5), roundHalfEven(3.5), roundHalfEven(2.4999), roundHalfEven(2.6)], [2, 4, 2, 3]);
  assert.equal(splitSizes(10, 0.25, 0.8).sampleSize, 2); // 2.5 -> 2, as Python's round
  assert.deepEqual(splitSizes(5, 1, 0.8), { sampleSize: 5, trainSize: 4, validSize: 1 });
  assert.throws(() => splitSizes(3, 0.1, 0.8), /too few sentences to split: 3 sentences/);
  assert.throws(() => sampleAndSplit(items, { sample: 0 }), /sample must be in \(0, 1\]/);
  assert.throws(() => sampleAndSplit(items, { trainFraction: 1.5 }), /trainFraction must be in \(0, 1\]/);
});

test("the draw is fixed by the seed, differs between seeds, and never repeats or invents an item", () => {
  const a = sampleAndSplit(items, { sample: 0.05, seed: 42 });
  const b = sampleAndSplit(items, { sample: 0.05, seed: 42 });
  const c = sampleAndSplit(items, { sample: 0.05, seed: 7 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.train, c.train);
  const all = new Set([...a.train, ...a.valid]);
  assert.equal(all.size, a.train.length + a.valid.length, "no item twice");
  const known = new Set(items);
  for (const s of all) assert.ok(known.has(s));
  // Overlap between two seeds' 5% samples is about 5% of the sample, not all of it.
  const other = new Set([...c.train, ...c.valid]);
  const overlap = [...all].filter((s) => other.has(s)).length;
  assert.ok(overlap < 0.15 * all.size, `overlap ${overlap}`);
});

test("sample 1 keeps every item; the split is a permutation of them", () => {
  const small = items.slice(0, 1000);
  const { train, valid } = sampleAndSplit(small, { sample: 1, trainFraction: 0.8, seed: 42 });
  assert.equal(train.length, 800);
  assert.equal(valid.length, 200);
  assert.deepEqual([...train, ...valid].sort(), [...small].sort());
  assert.notDeepEqual(train, small.slice(0, 800), "shuffled like train_test_split");
  const whole = sampleAndSplit(small, { sample: 1, trainFraction: 1, seed: 1 });
  assert.equal(whole.train.length, 1000);
  assert.equal(whole.valid.length, 0);
});
