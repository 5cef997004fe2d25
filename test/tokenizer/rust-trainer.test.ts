/**
 * The merge loop against the Rust trainer: configured like `BpeTrainer::default()` (vocab 30000,
 * min frequency 0, no special tokens, no prefix, whitespace pre-tokenizer, no normalizer), we learn
 * exactly the merges, in the same order, and the vocabulary that `tokenizers`' own `train()` learns.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BPE, Tokenizer as RustTokenizer, whitespacePreTokenizer } from "tokenizers";
import { learnBpe, RUST_DEFAULT_TRAINER, trainBpe } from "../../src/tokenizer/index.js";
import { corpusPath, tempDir } from "./helpers.js";

test("default trainer settings: same merges, same order, same vocabulary as the Rust trainer", async () => {
  const rust = new RustTokenizer(BPE.empty());
  rust.setPreTokenizer(whitespacePreTokenizer());
  rust.train([corpusPath()]);
  const path = join(tempDir(), "rust.json");
  rust.save(path, false);
  const ref = JSON.parse(readFileSync(path, "utf8")).model;

  const ours = (await trainBpe(corpusPath(), RUST_DEFAULT_TRAINER)).toJSON().model as {
    vocab: Record<string, number>;
    merges: string[][];
  };
  assert.ok(ref.merges.length > 20000, "the reference learned a full set of merges");
  assert.equal(ours.merges.length, ref.merges.length);
  for (let i = 0; i < ref.merges.length; i++) assert.deepEqual(ours.merges[i], ref.merges[i], `merge ${i}`);
  assert.deepEqual(ours.vocab, ref.vocab);
});

test("the Rust trainer's own unit test: roses are red (min frequency 2)", () => {
  // Word counts, expected vocabulary and merges from trainer.rs `test_train`.
  const counts = new Map([
    ["roses", 1],
    ["are", 2],
    ["red", 1],
    ["voilets", 1],
    ["blue", 1],
    ["BERT", 1],
    ["is", 2],
    ["big", 1],
    ["and", 1],
    ["so", 1],
    ["GPT-2", 1],
  ]);
  const { vocab, merges } = learnBpe(counts, { ...RUST_DEFAULT_TRAINER, minFrequency: 2 });
  assert.deepEqual(vocab, [..."-2BEGPRTabdegilnorstuv", "re", "are", "is"]);
  assert.deepEqual(merges, [
    ["r", "e"],
    ["a", "re"],
    ["i", "s"],
  ]);
});

test("special tokens take the first ids; prefix pieces; min frequency and vocab size stop training", () => {
  const counts = new Map([
    ["hug", 10],
    ["pug", 5],
    ["pun", 12],
    ["bun", 4],
    ["hugs", 5],
  ]);
  const o = { ...RUST_DEFAULT_TRAINER, specialTokens: ["[PAD]", "[UNK]"], continuingSubwordPrefix: "##" };
  const full = learnBpe(counts, { ...o, minFrequency: 1 });
  assert.deepEqual(full.vocab.slice(0, 9), ["[PAD]", "[UNK]", "b", "g", "h", "n", "p", "s", "u"]);
  assert.ok(full.vocab.includes("##u") && full.vocab.includes("##g"));
  // "##u ##g" (count 20) is the most frequent pair, then "##u ##n" (16).
  assert.deepEqual(full.merges.slice(0, 2), [
    ["##u", "##g"],
    ["##u", "##n"],
  ]);
  const stopped = learnBpe(counts, { ...o, minFrequency: 16 });
  assert.equal(stopped.merges.length, 2);
  const small = learnBpe(counts, { ...o, minFrequency: 1, vocabSize: full.vocab.length - 1 });
  assert.equal(small.vocab.length, full.vocab.length - 1);
});

test("limit_alphabet keeps the most frequent characters and drops the others from words", () => {
  const counts = new Map([
    ["aab", 3],
    ["ac", 1],
    ["z", 1],
  ]);
  const { vocab } = learnBpe(counts, { ...RUST_DEFAULT_TRAINER, limitAlphabet: 2, minFrequency: 0 });
  assert.deepEqual(vocab.slice(0, 2), ["a", "b"]);
  assert.ok(!vocab.includes("c") && !vocab.includes("z"));
});
