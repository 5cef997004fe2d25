// The positional table and batch packing (the light per-step layers are Backend kernels: test/engine).
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyPacked, packBatch } from "../../src/model/batch.js";
import { positionalEncoding } from "../../src/model/layers.js";

test("positional encoding is the sinusoidal table (not the tutorial's accidental zeros)", () => {
  const C = 6,
    pe = positionalEncoding(10, C);
  assert.deepEqual(Array.from(pe.subarray(0, C)), [0, 1, 0, 1, 0, 1]);
  for (const pos of [1, 7, 9]) {
    for (let i = 0; i < C / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / C);
      assert.ok(Math.abs(pe[pos * C + 2 * i] - Math.sin(angle)) < 1e-6);
      assert.ok(Math.abs(pe[pos * C + 2 * i + 1] - Math.cos(angle)) < 1e-6);
    }
  }
  assert.equal(positionalEncoding(3, 5)[2 * 5 + 4], Math.fround(Math.sin(2 / Math.pow(10000, 4 / 5)))); // odd C: last column is a sine
});

test("packBatch: unpadded keeps real tokens only, padded keeps all rows with masked keys", () => {
  const padded = {
    B: 2,
    S: 4,
    ids: Int32Array.from([1, 7, 2, 0, 1, 3, 9, 2]),
    lengths: Int32Array.from([3, 4]),
    labels: Int32Array.from([-100, 7, -100, 5, -100, 8, -100, -100]),
  };
  const u = packBatch(padded, "unpadded");
  assert.equal(u.rows, 7);
  assert.equal(u.numSeqs, 2);
  assert.deepEqual(Array.from(u.seqs), [0, 3, 3, 3, 4, 4]);
  assert.deepEqual(Array.from(u.ids.subarray(0, 7)), [1, 7, 2, 1, 3, 9, 2]);
  assert.deepEqual(Array.from(u.positions.subarray(0, 7)), [0, 1, 2, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(u.labels.subarray(0, 7)), [-100, 7, -100, -100, 8, -100, -100]);
  const p = packBatch(padded, "padded");
  assert.equal(p.rows, 8);
  assert.deepEqual(Array.from(p.seqs), [0, 4, 3, 4, 4, 4]);
  assert.deepEqual(Array.from(p.ids), [1, 7, 2, 0, 1, 3, 9, 2]);
  // a label on a padded position is dropped
  assert.deepEqual(Array.from(p.labels), [-100, 7, -100, -100, -100, 8, -100, -100]);
  const reuse = emptyPacked(16, 4);
  assert.equal(packBatch(padded, "padded", reuse), reuse);
  assert.notEqual(packBatch(padded, "padded", emptyPacked(2, 4)).ids.length, 2);
  assert.throws(
    () => packBatch({ ...padded, lengths: Int32Array.from([5, 1]) }, "unpadded"),
    /sentence 0 has length 5/,
  );
});
