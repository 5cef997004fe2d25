import { test } from "node:test";
import assert from "node:assert/strict";
import { HashSet64 } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";

test("HashSet64 agrees with a Set of the same hashes through many growths, (0, 0) and repeats included", () => {
  const rng = Rng.derive(3, "test/hash-set64");
  const set = new HashSet64(16);
  const reference = new Set<string>();
  // 200,000 hashes from a pool of 150,000: every table doubles several times, and about a third are repeats.
  // Some share their top bits (one table) or their low word (the same home slot), to exercise probing.
  const pool = Array.from({ length: 150_000 }, (_, i): [number, number] => {
    if (i === 0) return [0, 0];
    if (i % 10 === 1) return [0xfc000000 | rng.int(0x400), 7];
    return [rng.u32(), rng.u32()];
  });
  for (let k = 0; k < 200_000; k++) {
    const [hi, lo] = pool[rng.int(pool.length)];
    const key = `${hi}:${lo}`;
    const isNew = !reference.has(key);
    reference.add(key);
    assert.equal(set.add(hi, lo), isNew, `add(${hi}, ${lo}) after ${k} adds`);
  }
  assert.equal(set.size, reference.size);
  for (const [hi, lo] of pool) if (reference.has(`${hi}:${lo}`)) assert.equal(set.add(hi, lo), false);
  assert.equal(set.size, reference.size);
});
