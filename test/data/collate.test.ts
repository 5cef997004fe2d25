import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { BatchBuffers, collate, createMasking, specialTable, IGNORE_LABEL, type TokenizedSplit } from "../../src/data/index.js";
import { PAD, CLS, SEP, MASK, UNK } from "./tiny-tokenizer.js";

const VOCAB = 1000;
const SPECIAL = [PAD, CLS, SEP, MASK]; // the tutorial's special_tokens_mask: [UNK] stays maskable

/** n random sentences of 1 to 30 words, ids in [UNK, VOCAB), wrapped in [CLS] ... [SEP]. */
function randomSplit(n: number, seed: number): TokenizedSplit {
  const rng = new Rng(seed);
  const offsets = new Int32Array(n + 1);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const words = 1 + rng.int(30);
    ids.push(CLS);
    for (let w = 0; w < words; w++) ids.push(UNK + rng.int(VOCAB - UNK));
    ids.push(SEP);
    offsets[i + 1] = ids.length;
  }
  return { ids: Int32Array.from(ids), offsets, count: n };
}

function row(split: TokenizedSplit, i: number): Int32Array {
  return split.ids.subarray(split.offsets[i], split.offsets[i + 1]);
}

test("collate shapes: 'longest' pads to the batch's longest row, 'max' to maxLen; padding and labels filled", () => {
  const split: TokenizedSplit = { ids: Int32Array.from([1, 10, 11, 2, 1, 12, 2, 1, 13, 14, 15, 16, 2]), offsets: Int32Array.from([0, 4, 7, 13]), count: 3 };
  const buffers = new BatchBuffers(4, 8);
  const b = collate(split, [1, 0], buffers, { padId: PAD });
  assert.deepEqual([b.B, b.S], [2, 4]);
  assert.deepEqual([...b.ids], [1, 12, 2, PAD, 1, 10, 11, 2]);
  assert.deepEqual([...b.lengths], [3, 4]);
  assert.deepEqual([...b.labels], new Array(8).fill(IGNORE_LABEL));
  assert.equal(b.numMasked, 0);

  // Reuse the same buffers for a longer batch: every stale value is overwritten.
  const c = collate(split, [2, 0, 1], buffers, { padId: PAD, padding: "max" });
  assert.deepEqual([c.B, c.S], [3, 8]);
  assert.equal(c.ids.length, 24);
  assert.deepEqual([...c.ids.subarray(0, 8)], [1, 13, 14, 15, 16, 2, PAD, PAD]);
  assert.deepEqual([...c.ids.subarray(8, 16)], [1, 10, 11, 2, PAD, PAD, PAD, PAD]);
  assert.deepEqual([...c.lengths], [6, 4, 3]);
  assert.equal(c.ids.buffer, buffers.ids.buffer, "a view of the reusable buffer");

  assert.throws(() => collate(split, [0, 1, 2, 0, 1], buffers, { padId: PAD }), /batch of 5 sentences, expected 1 to 4/);
  assert.throws(() => collate(split, [2], new BatchBuffers(1, 5), { padId: PAD }), /sentence 2 has 6 tokens, more than maxLen=5/);
});

test("tutorial masking over 200k tokens: rate 0.15, specials and padding never masked, labels exact", () => {
  const split = randomSplit(13000, 1); // about 13000 * 17.5 = 227k tokens, 201k of them maskable
  const masking = createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL });
  const buffers = new BatchBuffers(64, 32);
  const rng = new Rng(42);
  let candidates = 0;
  let masked = 0;
  const order = Int32Array.from({ length: split.count }, (_, i) => i);
  for (let start = 0; start < split.count; start += 64) {
    const idx = order.subarray(start, Math.min(start + 64, split.count));
    const b = collate(split, idx, buffers, { padId: PAD }, masking, rng);
    let p = 0;
    for (let r = 0; r < b.B; r++) {
      const orig = row(split, idx[r]);
      assert.equal(b.lengths[r], orig.length);
      for (let s = 0; s < b.S; s++) {
        const at = r * b.S + s;
        if (s >= orig.length) {
          assert.equal(b.ids[at], PAD, "padding stays padding");
          assert.equal(b.labels[at], IGNORE_LABEL);
          continue;
        }
        const id = orig[s];
        if (SPECIAL.includes(id)) {
          assert.equal(b.ids[at], id, "special tokens are never masked");
          assert.equal(b.labels[at], IGNORE_LABEL);
          continue;
        }
        candidates++;
        if (b.labels[at] !== IGNORE_LABEL) {
          masked++;
          assert.equal(b.labels[at], id, "label = original id");
          assert.equal(b.ids[at], MASK, "input = [MASK]");
          assert.equal(b.maskedPositions[p++], at, "positions listed in order");
        } else {
          assert.equal(b.ids[at], id, "unmasked tokens unchanged");
        }
      }
    }
    assert.equal(p, b.numMasked);
  }
  assert.ok(candidates > 200_000, `${candidates} candidates`);
  const rate = masked / candidates;
  assert.ok(Math.abs(rate - 0.15) < 0.005, `mask rate ${rate}`);
});

test("80/10/10 masking: proportions within tolerance; random replacements are never special", () => {
  const split = randomSplit(13000, 2);
  const masking = createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL, maskTokenRate: 0.8, randomTokenRate: 0.1 });
  assert.equal(masking.randomPool.length, VOCAB - 4);
  const buffers = new BatchBuffers(64, 32);
  const rng = new Rng(7);
  let selected = 0;
  let asMask = 0;
  let changed = 0;
  let kept = 0;
  for (let start = 0; start < split.count; start += 64) {
    const idx = Int32Array.from({ length: Math.min(64, split.count - start) }, (_, k) => start + k);
    const b = collate(split, idx, buffers, { padId: PAD }, masking, rng);
    for (let k = 0; k < b.numMasked; k++) {
      const at = b.maskedPositions[k];
      const orig = b.labels[at];
      const now = b.ids[at];
      selected++;
      if (now === MASK) asMask++;
      else if (now === orig) kept++;
      else {
        changed++;
        assert.ok(!SPECIAL.includes(now), `random replacement ${now} is special`);
      }
    }
  }
  const f = (x: number): number => x / selected;
  assert.ok(selected > 25_000);
  assert.ok(Math.abs(f(asMask) - 0.8) < 0.015, `[MASK] ${f(asMask)}`);
  assert.ok(Math.abs(f(changed) - 0.1) < 0.01, `random ${f(changed)}`);
  assert.ok(Math.abs(f(kept) - 0.1) < 0.01, `kept ${f(kept)}`);
});

test("masks do not depend on the padding mode; same seed same masks; options are validated", () => {
  const split = randomSplit(200, 3);
  const masking = createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: specialTable(VOCAB, (id) => id < 4) });
  const idx = Int32Array.from({ length: 50 }, (_, i) => i * 4);
  const a = collate(split, idx, new BatchBuffers(50, 40), { padId: PAD, padding: "longest" }, masking, new Rng(5));
  const aIds = [...a.ids];
  const aS = a.S;
  const m = collate(split, idx, new BatchBuffers(50, 40), { padId: PAD, padding: "max" }, masking, new Rng(5));
  for (let r = 0; r < 50; r++) {
    assert.deepEqual(aIds.slice(r * aS, r * aS + a.lengths[r]), [...m.ids.subarray(r * 40, r * 40 + m.lengths[r])]);
  }
  assert.equal(a.numMasked, m.numMasked);

  assert.throws(() => createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL, probability: 1.5 }), /probability must be in \[0, 1\]/);
  assert.throws(() => createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL, maskTokenRate: 0.8, randomTokenRate: 0.3 }), /at most 1/);
  assert.throws(() => createMasking({ maskId: VOCAB, vocabSize: VOCAB, isSpecial: SPECIAL }), /maskId 1000 is outside/);
  assert.throws(() => specialTable(10, [3, 12]), /special token id 12 is outside the vocabulary \[0, 10\)/);
});
