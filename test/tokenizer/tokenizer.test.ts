/** Behaviour of the tokenizer: special tokens in text, decoding, truncation, padding, save/load, errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer, trainBpe, trainBpeFromSentences, preTokenize } from "../../src/tokenizer/index.js";
import { corpusLines, tempDir } from "./helpers.js";

const sample = corpusLines().slice(0, 5000);
const tok = trainBpeFromSentences(sample, { vocabSize: 3000 });

test("[MASK] written in the text is one token, never split, wherever it stands", () => {
  const mask = tok.tokenToId("[MASK]") as number;
  assert.equal(mask, 3);
  for (const s of ["I like [MASK].", "x[MASK]y", "[MASK][MASK]"]) {
    const e = tok.encode(s);
    assert.ok(e.ids.includes(mask), s);
    assert.ok(!e.tokens.includes("["), s);
  }
  assert.deepEqual(tok.encode("[MASK][MASK]").tokens, ["[CLS]", "[MASK]", "[MASK]", "[SEP]"]);
  // Lowercase "[mask]" is plain text.
  assert.ok(!tok.encode("[mask]").ids.includes(mask));
  assert.ok(tok.isSpecialId(mask) && tok.isSpecialId(0) && !tok.isSpecialId(tok.tokenToId("the") as number));
  assert.deepEqual(tok.specialTokenIds, [0, 1, 2, 3, 4]);
});

test("decode removes ## and special tokens and restores the (lowercased) sentence", () => {
  let exact = 0;
  for (const s of sample.slice(0, 500)) {
    const back = tok.decode(tok.encodeIds(s));
    // Same words once spacing is ignored; most sentences come back exactly.
    assert.equal(back.replace(/\s+/g, ""), s.toLowerCase().replace(/\s+/g, ""), s);
    if (back === s.toLowerCase()) exact++;
  }
  assert.ok(exact > 350, `${exact} of 500 decoded exactly`);
  assert.equal(tok.decode(tok.encodeIds("Tom is here, right?")), "tom is here, right?");
  // The WordPiece decoder cleans up per piece, so the Rust library also gives "where ' s".
  assert.equal(tok.decode(tok.encodeIds("Where's the cat?")), "where ' s the cat?");
  assert.match(tok.decode(tok.encodeIds("hi"), { skipSpecialTokens: false }), /^\[CLS\] hi \[SEP\]$/);
});

test("encode: masks and offsets line up with the text", () => {
  const text = "Tom likes [MASK] apples.";
  const e = tok.encode(text);
  assert.equal(e.ids.length, e.tokens.length);
  assert.deepEqual(
    e.attentionMask,
    e.ids.map(() => 1),
  );
  assert.deepEqual(
    e.specialTokensMask,
    e.ids.map((_, i) => (i === 0 || i === e.ids.length - 1 ? 1 : 0)),
  );
  const pieces = e.offsets.slice(1, -1).map(([a, b]) => text.slice(a, b).toLowerCase());
  assert.equal(pieces.join(""), "tomlikes[MASK]apples.".toLowerCase());
});

test("truncation keeps [CLS] ... [SEP] within maxLength; padding fills with [PAD]", () => {
  const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");
  const e = tok.encode(long);
  assert.equal(e.ids.length, 128);
  assert.equal(e.ids[0], 1);
  assert.equal(e.ids[127], 2);
  assert.equal(tok.encodeIds(long).length, 128);
  assert.deepEqual(Array.from(tok.encodeIds(long)), e.ids);

  const t2 = Tokenizer.fromJSON(tok.toJSON());
  t2.setPadding("longest");
  const batch = t2.encodeBatch(["a b c d e", "a"]);
  assert.equal(batch[0].ids.length, batch[1].ids.length);
  assert.deepEqual(batch[1].attentionMask.slice(-2), [0, 0]);
  assert.equal(batch[1].ids.at(-1), 0);
  t2.setPadding(16);
  assert.equal(t2.encode("a").ids.length, 16);
  t2.setTruncation(4);
  assert.deepEqual(t2.encode("a b c d e").attentionMask, [1, 1, 1, 1, ...new Array(12).fill(0)]);
  t2.setTruncation(null);
  t2.setPadding(null);
  assert.ok(t2.encodeIds(long).length > 300, "no truncation once it is cleared");
});

test("save/load round trip keeps every setting and every id; string merges load too", () => {
  const dir = tempDir();
  const path = join(dir, "tokenizer.json");
  tok.save(path, true);
  const back = Tokenizer.load(path);
  assert.deepEqual(back.toJSON(), tok.toJSON());
  for (const s of sample.slice(0, 300)) assert.deepEqual(back.encodeIds(s), tok.encodeIds(s));
  const json = JSON.parse(readFileSync(path, "utf8"));
  assert.ok(Array.isArray(json.model.merges[0]), "merges written as [a, b] arrays, as tokenizers 0.23 does");
  json.model.merges = json.model.merges.map((m: string[]) => m.join(" "));
  const old = Tokenizer.fromJSON(JSON.stringify(json));
  for (const s of sample.slice(0, 300)) assert.deepEqual(old.encodeIds(s), tok.encodeIds(s));
});

test("pre-tokenizers split as Rust's \\w+|[^\\w\\s]+ and on whitespace", () => {
  assert.deepEqual(preTokenize("Hey, fiancée! x²=4 it's", "whitespace"), [
    "Hey",
    ",",
    "fiancée",
    "!",
    "x",
    "²=",
    "4",
    "it",
    "'",
    "s",
  ]);
  assert.deepEqual(preTokenize("Hey, you!  ok", "whitespace-split"), ["Hey,", "you!", "ok"]);
});

test("options: NFKC, strip accents and an end-of-word suffix", () => {
  const t = trainBpeFromSentences(["Café ﬁne café", "cafe fine"], {
    nfkc: true,
    stripAccents: true,
    continuingSubwordPrefix: null,
    endOfWordSuffix: "</w>",
    minFrequency: 1,
    vocabSize: 100,
  });
  assert.deepEqual(t.encode("CAFÉ").tokens.slice(1, -1), ["cafe</w>"]);
  assert.equal(t.decode(t.encodeIds("café fine")), "cafe fine");
  const json = t.toJSON() as { normalizer: { normalizers: { type: string }[] } };
  assert.deepEqual(
    json.normalizer.normalizers.map((n) => n.type),
    ["NFKC", "Lowercase", "NFD", "StripAccents"],
  );
});

test("files, in-memory sentences and async streams of sentences train the same tokenizer", async () => {
  const lines = sample.slice(0, 1500);
  const path = join(tempDir(), "part.txt");
  writeFileSync(path, lines.join("\n") + "\n");
  const options = { vocabSize: 800 };
  const fromFile = (await trainBpe(path, options)).toString();
  async function* stream(): AsyncGenerator<string> {
    yield* lines;
  }
  assert.equal((await trainBpe(stream(), options)).toString(), fromFile);
  assert.equal((await trainBpe(new Set(lines), options)).toString(), fromFile);
  assert.equal(trainBpeFromSentences(lines, options).toString(), fromFile);
});

test("bad input: missing file, invalid UTF-8, no usable text, bad tokenizer.json", async () => {
  const dir = tempDir();
  await assert.rejects(trainBpe(join(dir, "nope.txt")), /nope\.txt: file not found/);
  const bad = join(dir, "latin1.txt");
  writeFileSync(bad, Buffer.concat([Buffer.from("good line\nsecond\n"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])]));
  await assert.rejects(trainBpe(bad), /latin1\.txt:3: invalid UTF-8/);
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "\n   \n\t\n");
  await assert.rejects(trainBpe(empty), /empty\.txt: no usable text/);
  assert.throws(() => Tokenizer.load(join(dir, "missing.json")), /missing\.json: file not found/);
  const notJson = join(dir, "bad.json");
  writeFileSync(notJson, "{ nope");
  assert.throws(() => Tokenizer.load(notJson), /bad\.json: not valid JSON/);
  writeFileSync(notJson, JSON.stringify({ model: { type: "WordPiece", vocab: {} } }));
  assert.throws(() => Tokenizer.load(notJson), /bad\.json: unsupported model "WordPiece"/);
  assert.throws(() => trainBpeFromSentences(["a"], { vocabSize: 0 }), /vocabSize/);
  assert.throws(() => trainBpeFromSentences(["a"], { unkToken: "<unk>" }), /unkToken/);
});
