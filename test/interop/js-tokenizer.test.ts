// The "end-of-word" tokenizer style (the fast recipe's: a `</w>` suffix on each word's last piece,
// words cut at spaces, a BPEDecoder), trained by mlm-ts on the bundled corpus, is read exactly by the
// JavaScript tokenizers: transformers.js 4.3 and @huggingface/tokenizers give mlm-ts's ids, as Rust's
// tokenizers does, on every corpus sentence short enough not to be truncated (they do not truncate in
// `encode`); and decoding 100 corpus sentences gives each back lowercased, in mlm-ts and in
// transformers.js. The tutorial's `##` tokenizer does not agree there (why the export refuses it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { Tokenizer as RustTokenizer } from "tokenizers";
import { tokenizerConfig } from "../../src/interop/index.js";
import { TOKENIZER_STYLES, trainBpeFromSentences, type Tokenizer } from "../../src/tokenizer/index.js";
import { corpusLines } from "../tokenizer/helpers.js";
import { tempDir } from "../temp-dir.js";

const lines = corpusLines();
const dir = tempDir("mlm-js-tokenizer-");
env.allowRemoteModels = false;
env.localModelPath = dir + "/";

/** mlm-ts's tokenizer of `style` (vocabulary 3000) as a folder transformers.js loads by `name`. */
async function trained(style: "end-of-word" | "tutorial", name: string) {
  const ours = trainBpeFromSentences(lines, { vocabSize: 3000, ...TOKENIZER_STYLES[style] });
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, "tokenizer.json"), ours.toString());
  writeFileSync(join(dir, name, "tokenizer_config.json"), JSON.stringify(tokenizerConfig(ours, 128)));
  return { ours, tjs: await AutoTokenizer.from_pretrained(name) };
}

const sameIds = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

/** Every 13th corpus sentence (about 5,000) that mlm-ts does not truncate. */
function untruncated(ours: Tokenizer): string[] {
  return lines.filter((_, i) => i % 13 === 0).filter((s) => ours.encodeIds(s).length < 128);
}

test("end-of-word: transformers.js, @huggingface/tokenizers and Rust's tokenizers give mlm-ts's ids", async () => {
  const { ours, tjs } = await trained("end-of-word", "eow");
  const hf = new HfTokenizer(JSON.parse(ours.toString()), {});
  const rust = RustTokenizer.fromString(ours.toString());
  const sentences = untruncated(ours);
  assert.ok(sentences.length > 4900);
  const bad = { transformersJs: 0, hfTokenizers: 0, rust: 0 };
  for (const s of sentences) {
    const ids = ours.encodeIds(s);
    if (!sameIds(tjs.encode(s), ids)) bad.transformersJs++;
    if (!sameIds(hf.encode(s).ids, ids)) bad.hfTokenizers++;
    if (!sameIds((await rust.encode(s)).getIds(), ids)) bad.rust++;
  }
  assert.deepEqual(bad, { transformersJs: 0, hfTokenizers: 0, rust: 0 });
});

test("end-of-word: decoding 100 corpus sentences gives them back lowercased, in mlm-ts and transformers.js", async () => {
  const { ours, tjs } = await trained("end-of-word", "eow-decode");
  const sentences = untruncated(ours).slice(0, 100);
  assert.equal(sentences.length, 100);
  for (const s of sentences) {
    assert.equal(ours.decode(ours.encodeIds(s)), s.toLowerCase());
    assert.equal(tjs.decode(tjs.encode(s), { skip_special_tokens: true }), s.toLowerCase());
  }
  assert.equal(ours.decode(ours.encodeIds("Fiancée, café.")), "fiancée, café.");
});

test("the tutorial's ## tokenizer: transformers.js cuts words differently (most sentences disagree)", async () => {
  const { ours, tjs } = await trained("tutorial", "hash");
  const sentences = untruncated(ours).slice(0, 100);
  const agree = sentences.filter((s) => sameIds(tjs.encode(s), ours.encodeIds(s))).length;
  assert.ok(agree < 20, `${agree} of 100 agree`);
});
