/**
 * Parity with Hugging Face `tokenizers` (Rust, npm): our tutorial tokenizer.json trained on the bundled
 * corpus loads there and every sentence encodes identically (ids, tokens, offsets, masks); decoding
 * agrees too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Tokenizer as RustTokenizer } from "tokenizers";
import { trainBpe, trainBpeFromSentences } from "../../src/tokenizer/index.js";
import type { BpeTrainOptions } from "../../src/tokenizer/index.js";
import { corpusLines, corpusPath, EDGE_SENTENCES, tempDir } from "./helpers.js";

test("tutorial tokenizer: every corpus sentence encodes as in the Rust library", async () => {
  const tok = await trainBpe(corpusPath());
  assert.equal(tok.tokenToId("[PAD]"), 0);
  assert.equal(tok.tokenToId("[UNK]"), 4);
  const path = join(tempDir(), "tokenizer.json");
  tok.save(path);
  const rust = RustTokenizer.fromFile(path);
  assert.equal(rust.getVocabSize(true), tok.vocabSize);

  const lines = [...corpusLines(), ...EDGE_SENTENCES];
  const theirs = await rust.encodeBatch(lines);
  let mismatches = 0;
  let firstBad = "";
  for (let i = 0; i < lines.length; i++) {
    const a = tok.encode(lines[i]);
    const b = theirs[i];
    const same =
      sameArray(a.ids, b.getIds()) &&
      sameArray(Array.from(tok.encodeIds(lines[i])), b.getIds()) &&
      sameArray(a.tokens, b.getTokens()) &&
      sameArray(a.specialTokensMask, b.getSpecialTokensMask()) &&
      sameArray(a.attentionMask, b.getAttentionMask()) &&
      sameArray(a.offsets.flat(), b.getOffsets().flat());
    if (!same && mismatches++ === 0) firstBad = `${JSON.stringify(lines[i])}: ours ${a.ids} vs rust ${b.getIds()}`;
  }
  assert.equal(mismatches, 0, `first mismatch: ${firstBad}`);

  for (let i = 0; i < lines.length; i += 97) {
    const ids = theirs[i].getIds();
    assert.equal(tok.decode(ids), await rust.decode(ids, true), `decode ${JSON.stringify(lines[i])}`);
    assert.equal(tok.decode(ids, { skipSpecialTokens: false }), await rust.decode(ids, false));
  }
});

test("truncation to 128 and fixed padding agree with the Rust library", async () => {
  const tok = trainBpeFromSentences(corpusLines().slice(0, 3000), { vocabSize: 2000, padding: 128 });
  const path = join(tempDir(), "tokenizer.json");
  tok.save(path);
  const rust = RustTokenizer.fromFile(path);
  const long = Array.from({ length: 60 }, (_, i) => `word${i}, again`).join(" ");
  for (const s of [long, "Short one.", ""]) {
    const a = tok.encode(s);
    const b = await rust.encode(s);
    assert.equal(a.ids.length, 128);
    assert.deepEqual(a.ids, b.getIds());
    assert.deepEqual(a.attentionMask, b.getAttentionMask());
    assert.deepEqual(a.specialTokensMask, b.getSpecialTokensMask());
  }
});

test("other settings (suffix, NFKC + strip accents, whitespace-split + alphabet limit) agree too", async () => {
  const lines = [...corpusLines().slice(0, 8000), ...EDGE_SENTENCES];
  const variants: Partial<BpeTrainOptions>[] = [
    { endOfWordSuffix: "</w>", continuingSubwordPrefix: null, vocabSize: 4000 },
    { nfkc: true, stripAccents: true, vocabSize: 4000 },
    { preTokenizer: "whitespace-split", lowercase: false, limitAlphabet: 60, vocabSize: 4000, maxLength: 16 },
  ];
  for (const options of variants) {
    const tok = trainBpeFromSentences(lines, options);
    const path = join(tempDir(), "tokenizer.json");
    tok.save(path);
    const theirs = await RustTokenizer.fromFile(path).encodeBatch(lines);
    for (let i = 0; i < lines.length; i++) {
      const a = tok.encode(lines[i]);
      const same = sameArray(a.ids, theirs[i].getIds()) && sameArray(a.offsets.flat(), theirs[i].getOffsets().flat());
      assert.ok(
        same,
        `${JSON.stringify(options)} ${JSON.stringify(lines[i])}: ${a.tokens} vs ${theirs[i].getTokens()}`,
      );
    }
  }
});

function sameArray<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
