// Light layers (positional table, embedding, dropout, ReLU, gather/scatter) and batch packing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { emptyPacked, packBatch } from "../../src/model/batch.js";
import { dropoutBackward, dropoutForward, embeddingBackward, embeddingForward, gatherRows, positionalEncoding, reluBackward, reluForward, scatterAddRows } from "../../src/model/layers.js";
import { randomArray } from "../engine/reference.js";

test("positional encoding is the sinusoidal table (not the tutorial's accidental zeros)", () => {
  const C = 6, pe = positionalEncoding(10, C);
  assert.deepEqual(Array.from(pe.subarray(0, C)), [0, 1, 0, 1, 0, 1]);
  for (const pos of [1, 7, 9]) {
    for (let i = 0; i < C / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / C);
      assert.ok(Math.abs(pe[pos * C + 2 * i]! - Math.sin(angle)) < 1e-6);
      assert.ok(Math.abs(pe[pos * C + 2 * i + 1]! - Math.cos(angle)) < 1e-6);
    }
  }
  assert.equal(positionalEncoding(3, 5)[2 * 5 + 4], Math.fround(Math.sin(2 / Math.pow(10000, 4 / 5)))); // odd C: last column is a sine
});

test("embedding forward adds the scaled row and the position; backward scatter-adds repeated ids", () => {
  const V = 7, C = 5, T = 6, scale = Math.sqrt(C);
  const table = Float32Array.from(randomArray(V * C, 1));
  const pe = positionalEncoding(8, C);
  const ids = Int32Array.from([3, 1, 3, 6, 3, 0]);
  const pos = Int32Array.from([0, 1, 2, 0, 1, 7]);
  const out = new Float32Array(T * C);
  embeddingForward(out, ids, pos, table, pe, T, C, scale);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) assert.ok(Math.abs(out[t * C + c]! - (table[ids[t]! * C + c]! * scale + pe[pos[t]! * C + c]!)) < 1e-6);
  // loss = sum(out * g): d loss / d table by finite differences (the map is linear, so exact up to rounding)
  const g = Float32Array.from(randomArray(T * C, 2));
  const loss = (): number => {
    embeddingForward(out, ids, pos, table, pe, T, C, scale);
    let s = 0;
    for (let i = 0; i < T * C; i++) s += out[i]! * g[i]!;
    return s;
  };
  const dtable = new Float32Array(V * C).fill(0.5);
  embeddingBackward(dtable, g, ids, T, C, scale);
  for (let i = 0; i < V * C; i++) {
    const old = table[i]!;
    table[i] = old + 0.25;
    const lp = loss();
    table[i] = old - 0.25;
    const lm = loss();
    table[i] = old;
    assert.ok(Math.abs((lp - lm) / 0.5 - (dtable[i]! - 0.5)) < 1e-4, `table[${i}]`);
  }
  // rows 2, 4 and 5 of the table (ids absent) get no gradient
  for (const id of [2, 4, 5]) for (let c = 0; c < C; c++) assert.equal(dtable[id * C + c], 0.5);
});

test("dropout: rate, inverted scaling, same seed same mask, backward uses the mask", () => {
  const n = 100000, p = 0.1;
  const x = new Float32Array(n).fill(1);
  const keep = new Uint8Array(n);
  dropoutForward(x, keep, n, p, new Rng(5));
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    if (keep[i] === 0) {
      dropped++;
      assert.equal(x[i], 0);
    } else assert.equal(x[i], Math.fround(1 / 0.9));
  }
  assert.ok(Math.abs(dropped / n - p) < 0.004, `dropped ${dropped / n}`); // ~4 standard deviations
  const y = new Float32Array(n).fill(1);
  dropoutForward(y, null, n, p, new Rng(5));
  assert.deepEqual(y, x);
  const d = new Float32Array(n).fill(2);
  dropoutBackward(d, d, keep, n, p);
  for (let i = 0; i < n; i += 997) assert.equal(d[i], keep[i] ? Math.fround(2 / 0.9) : 0);
});

test("relu backward passes gradient only where the (possibly dropped-out) output is positive", () => {
  const x = Float32Array.from([-1, 0, 2, 3]);
  reluForward(x, 4);
  assert.deepEqual(Array.from(x), [0, 0, 2, 3]);
  const d = Float32Array.from([1, 1, 1, 1]);
  reluBackward(d, x, 4, 2);
  assert.deepEqual(Array.from(d), [0, 0, 2, 2]);
});

test("gatherRows and scatterAddRows are adjoint", () => {
  const T = 5, C = 3, rows = Int32Array.from([4, 1]);
  const inp = Float32Array.from(randomArray(T * C, 3));
  const g = new Float32Array(2 * C);
  gatherRows(g, inp, rows, 2, C);
  assert.deepEqual(Array.from(g), [...inp.subarray(12, 15), ...inp.subarray(3, 6)]);
  const d = new Float32Array(T * C).fill(1);
  scatterAddRows(d, Float32Array.from([1, 2, 3, 4, 5, 6]), rows, 2, C);
  assert.deepEqual(Array.from(d), [1, 1, 1, 5, 6, 7, 1, 1, 1, 1, 1, 1, 2, 3, 4]);
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
  assert.throws(() => packBatch({ ...padded, lengths: Int32Array.from([5, 1]) }, "unpadded"), /sentence 0 has length 5/);
});
