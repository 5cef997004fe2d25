import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import {
  BatchBuffers,
  batchOf,
  collate,
  createMasking,
  specialTable,
  IGNORE_LABEL,
  type Batch,
  type TokenizedSplit,
} from "../../src/data/index.js";
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

test("collate packs rows: 'unpadded' real tokens only, 'padded' to the batch's longest sentence or to maxLen", () => {
  const split: TokenizedSplit = {
    ids: Int32Array.from([1, 10, 11, 2, 1, 12, 2, 1, 13, 14, 15, 16, 2]),
    offsets: Int32Array.from([0, 4, 7, 13]),
    count: 3,
  };
  const buffers = new BatchBuffers(4, 8);
  const b = collate(split, [1, 0], buffers, { padId: PAD });
  assert.deepEqual([b.numSeqs, b.width, b.rows, b.tokens, b.numMasked], [2, 4, 7, 7, 0]);
  assert.deepEqual([...b.ids], [1, 12, 2, 1, 10, 11, 2]);
  assert.deepEqual([...b.positions], [0, 1, 2, 0, 1, 2, 3]);
  assert.deepEqual([...b.seqs], [0, 3, 3, 3, 4, 4]);
  assert.deepEqual([...b.labels], new Array(7).fill(IGNORE_LABEL));

  const p = collate(split, [1, 0], buffers, { padId: PAD, pack: "padded" });
  assert.deepEqual([p.numSeqs, p.width, p.rows, p.tokens], [2, 4, 8, 7]);
  assert.deepEqual([...p.ids], [1, 12, 2, PAD, 1, 10, 11, 2]);
  assert.deepEqual([...p.positions], [0, 1, 2, 3, 0, 1, 2, 3]);
  assert.deepEqual([...p.seqs], [0, 4, 3, 4, 4, 4], "padding rows are keys masked out: K < L");

  // Reuse the same buffers for a longer batch padded to maxLen: every stale value is overwritten.
  const c = collate(split, [2, 0, 1], buffers, { padId: PAD, padding: "max", pack: "padded" });
  assert.deepEqual([c.numSeqs, c.width, c.rows, c.tokens], [3, 8, 24, 13]);
  assert.deepEqual([...c.ids.subarray(0, 8)], [1, 13, 14, 15, 16, 2, PAD, PAD]);
  assert.deepEqual([...c.ids.subarray(8, 16)], [1, 10, 11, 2, PAD, PAD, PAD, PAD]);
  assert.deepEqual([...c.seqs], [0, 8, 6, 8, 8, 4, 16, 8, 3]);
  assert.deepEqual([...c.labels], new Array(24).fill(IGNORE_LABEL));
  assert.equal(c.ids.buffer, buffers.ids.buffer, "a view of the reusable buffer");
  // Padding "max" without padding rows changes only the width (what the tutorial would compute).
  const d = collate(split, [2, 0, 1], buffers, { padId: PAD, padding: "max" });
  assert.deepEqual([d.width, d.rows, d.tokens], [8, 13, 13]);

  assert.throws(
    () => collate(split, [0, 1, 2, 0, 1], buffers, { padId: PAD }),
    /batch of 5 sentences, expected 1 to 4/,
  );
  assert.throws(
    () => collate(split, [2], new BatchBuffers(1, 5), { padId: PAD }),
    /sentence 2 has 6 tokens, more than maxLen=5/,
  );
  assert.throws(() => collate(split, [3], buffers, { padId: PAD }), /sentence index 3 outside \[0, 3\)/);
});

test("batchOf: sentences given by hand, their labels at their rows, in either packing", () => {
  const sentences = [
    { ids: [1, 7, 2], labels: [-100, 7, -100] },
    { ids: [1, 3, 9, 2], labels: [-100, 8, -100, -100] },
  ];
  const u = batchOf(sentences);
  assert.deepEqual([u.numSeqs, u.width, u.rows, u.tokens, u.numMasked], [2, 4, 7, 7, 2]);
  assert.deepEqual([...u.seqs], [0, 3, 3, 3, 4, 4]);
  assert.deepEqual([...u.ids], [1, 7, 2, 1, 3, 9, 2]);
  assert.deepEqual([...u.labels], [-100, 7, -100, -100, 8, -100, -100]);
  const p = batchOf(sentences, { pack: "padded", width: 5, padId: 0 });
  assert.deepEqual([p.width, p.rows, p.tokens, p.numMasked], [5, 10, 7, 2]);
  assert.deepEqual([...p.seqs], [0, 5, 3, 5, 5, 4]);
  assert.deepEqual([...p.ids], [1, 7, 2, 0, 0, 1, 3, 9, 2, 0]);
  assert.deepEqual([...p.positions], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  assert.deepEqual([...p.labels], [-100, 7, -100, -100, -100, -100, 8, -100, -100, -100]);
  assert.deepEqual([...batchOf([{ ids: [1, 2] }]).labels], [IGNORE_LABEL, IGNORE_LABEL]);
  assert.throws(() => batchOf([{ ids: [1, 2], labels: [5] }]), /sentence 0 has 2 ids but 1 labels/);
  assert.throws(() => batchOf(sentences, { width: 3 }), /has 4 tokens, more than maxLen=3/);
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
    const b = collate(split, idx, buffers, { padId: PAD, pack: "padded" }, masking, rng);
    let labelled = 0;
    for (let r = 0; r < b.numSeqs; r++) {
      const orig = row(split, idx[r]);
      const [first, L, len] = b.seqs.subarray(3 * r, 3 * r + 3);
      assert.deepEqual([L, len], [b.width, orig.length]);
      for (let s = 0; s < L; s++) {
        const at = first + s;
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
          labelled++;
          assert.equal(b.labels[at], id, "label = original id");
          assert.equal(b.ids[at], MASK, "input = [MASK]");
        } else {
          assert.equal(b.ids[at], id, "unmasked tokens unchanged");
        }
      }
    }
    assert.equal(labelled, b.numMasked);
  }
  assert.ok(candidates > 200_000, `${candidates} candidates`);
  const rate = masked / candidates;
  assert.ok(Math.abs(rate - 0.15) < 0.005, `mask rate ${rate}`);
});

test("80/10/10 masking: proportions within tolerance; random replacements are never special", () => {
  const split = randomSplit(13000, 2);
  const masking = createMasking({
    maskId: MASK,
    vocabSize: VOCAB,
    isSpecial: SPECIAL,
    maskTokenRate: 0.8,
    randomTokenRate: 0.1,
  });
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
    for (let at = 0; at < b.rows; at++) {
      const orig = b.labels[at];
      if (orig === IGNORE_LABEL) continue;
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
  const realRows = (x: Batch, r: number): number[] => [
    ...x.ids.subarray(x.seqs[3 * r], x.seqs[3 * r] + x.seqs[3 * r + 2]),
  ];
  const aRows = Array.from({ length: 50 }, (_, r) => realRows(a, r));
  const aMasked = a.numMasked;
  assert.ok(aMasked > 0);
  for (const layout of [
    { padding: "max", pack: "padded" },
    { padding: "longest", pack: "padded" },
    { padding: "max", pack: "unpadded" },
  ] as const) {
    const m = collate(split, idx, new BatchBuffers(50, 40), { padId: PAD, ...layout }, masking, new Rng(5));
    assert.deepEqual(
      Array.from({ length: 50 }, (_, r) => realRows(m, r)),
      aRows,
      `${layout.padding}/${layout.pack}`,
    );
    assert.equal(m.numMasked, aMasked);
  }

  assert.throws(
    () => createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL, probability: 1.5 }),
    /probability must be in \[0, 1\]/,
  );
  assert.throws(
    () =>
      createMasking({ maskId: MASK, vocabSize: VOCAB, isSpecial: SPECIAL, maskTokenRate: 0.8, randomTokenRate: 0.3 }),
    /at most 1/,
  );
  assert.throws(() => createMasking({ maskId: VOCAB, vocabSize: VOCAB, isSpecial: SPECIAL }), /maskId 1000 is outside/);
  assert.throws(() => specialTable(10, [3, 12]), /special token id 12 is outside the vocabulary \[0, 10\)/);
});
