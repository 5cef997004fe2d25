// The positional table (the light per-step layers are Backend kernels: test/engine).
import { test } from "node:test";
import assert from "node:assert/strict";
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
