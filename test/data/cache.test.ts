import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import {
  loadOrBuildTokenized,
  tokenizedCacheKey,
  encodeTokenized,
  decodeTokenized,
  tokenizeSentences,
  type LoadOrBuildOptions,
} from "../../src/data/index.js";
import { WordTokenizer, tempDir, CLS, SEP } from "./tiny-tokenizer.js";

const sentences = [
  "the cat sat",
  "a dog ran far away",
  "the end",
  "one two three four five six seven eight nine ten eleven",
];

function options(cacheDir: string, over: Partial<LoadOrBuildOptions> = {}): LoadOrBuildOptions {
  const tok = new WordTokenizer(8);
  return {
    sentences,
    encode: tok.encode,
    fingerprint: tok.fingerprint,
    maxLen: 8,
    cacheDir,
    name: "train",
    progress: false,
    ...over,
  };
}

test("builds once, then reuses the file with identical arrays", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const first = await loadOrBuildTokenized(options(dir));
    assert.equal(first.fromCache, false);
    assert.equal(first.split.count, 4);
    assert.deepEqual([...first.split.offsets], [0, 5, 12, 16, 24]); // the last sentence truncated to 8
    assert.deepEqual([...first.split.ids.subarray(0, 5)], [CLS, 5, 6, 7, SEP]);
    assert.match(first.path, /train-[0-9a-f]{16}\.tok$/);

    let encodeCalls = 0;
    const second = await loadOrBuildTokenized(
      options(dir, { encode: (s) => (encodeCalls++, new WordTokenizer(8).encode(s)) }),
    );
    assert.equal(second.fromCache, true);
    assert.equal(encodeCalls, 0, "nothing re-tokenized");
    assert.equal(second.path, first.path);
    assert.deepEqual(second.split.ids, first.split.ids);
    assert.deepEqual(second.split.offsets, first.split.offsets);
    // Small ids are stored as Uint16: 64-byte header + 5 offsets * 4 + 24 ids * 2.
    assert.equal(statSync(first.path).size, 64 + 20 + 48);
    assert.deepEqual(readdirSync(dir), [first.path.split(/[\\/]/).pop()], "no temporary file left");
  } finally {
    cleanup();
  }
});

test("the key changes with the corpus, the tokenizer fingerprint, maxLen and extra settings", () => {
  const base = tokenizedCacheKey(sentences, "tok-a", 128);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(tokenizedCacheKey([...sentences], "tok-a", 128), base);
  assert.notEqual(tokenizedCacheKey([...sentences.slice(0, 3), "the end."], "tok-a", 128), base);
  assert.notEqual(tokenizedCacheKey(sentences.slice(1), "tok-a", 128), base);
  assert.notEqual(tokenizedCacheKey(sentences, "tok-b", 128), base);
  assert.notEqual(tokenizedCacheKey(sentences, "tok-a", 64), base);
  assert.notEqual(tokenizedCacheKey(sentences, "tok-a", 128, "lowercase"), base);
  // Boundaries between sentences matter: ["ab", "c"] and ["a", "bc"] differ.
  assert.notEqual(tokenizedCacheKey(["ab", "c"], "t", 8), tokenizedCacheKey(["a", "bc"], "t", 8));
});

test("a different setting gets its own file; both stay usable", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = await loadOrBuildTokenized(options(dir));
    const b = await loadOrBuildTokenized(options(dir, { maxLen: 16, encode: new WordTokenizer(16).encode }));
    const c = await loadOrBuildTokenized(options(dir, { fingerprint: "another tokenizer" }));
    assert.equal(b.fromCache, false);
    assert.equal(c.fromCache, false);
    assert.equal(new Set([a.path, b.path, c.path]).size, 3);
    assert.equal(b.split.offsets[4], 29); // 13 tokens for the long sentence at maxLen 16
    assert.equal((await loadOrBuildTokenized(options(dir))).fromCache, true);
  } finally {
    cleanup();
  }
});

test("a truncated or corrupted cache file is detected and rebuilt, with a message", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const built = await loadOrBuildTokenized(options(dir));
    const messages: string[] = [];
    const log = (line: string): void => void messages.push(line);

    truncateSync(built.path, statSync(built.path).size - 3);
    const r1 = await loadOrBuildTokenized(options(dir, { log }));
    assert.equal(r1.fromCache, false);
    assert.match(r1.rebuiltBecause ?? "", /size .* expected/);
    assert.deepEqual(r1.split.ids, built.split.ids);
    assert.equal((await loadOrBuildTokenized(options(dir, { log }))).fromCache, true, "the rebuilt file is good");

    const bytes = readFileSync(built.path);
    bytes[bytes.length - 1] ^= 0xff; // flip the last id's bits
    writeFileSync(built.path, bytes);
    const r2 = await loadOrBuildTokenized(options(dir, { log }));
    assert.equal(r2.rebuiltBecause, "checksum mismatch");

    writeFileSync(built.path, "garbage that is long enough to hold a header but has the wrong magic.......");
    const r3 = await loadOrBuildTokenized(options(dir, { log }));
    assert.equal(r3.rebuiltBecause, "bad magic");
    assert.equal(messages.length, 3);
    assert.match(messages[0], /^cache file .*train-[0-9a-f]{16}\.tok is unusable \(size .*\); rebuilding it$/);
  } finally {
    cleanup();
  }
});

test("large ids are stored as Int32 and round-trip; bad encodings are rejected", () => {
  const split = { ids: Int32Array.from([1, 70000, 2, 1, 5, 2]), offsets: Int32Array.from([0, 3, 6]), count: 2 };
  const key = "ab".repeat(32);
  const bytes = encodeTokenized(split, key, 128);
  assert.equal(bytes.length, 64 + 12 + 24);
  const back = decodeTokenized(bytes, key);
  assert.notEqual(typeof back, "string");
  assert.deepEqual(back, split);
  assert.equal(decodeTokenized(bytes, "cd".repeat(32)), "key mismatch");

  assert.throws(
    () => tokenizeSentences(["a b c"], () => Int32Array.from([1, 5, 6, 7, 2]), { maxLen: 4, progress: false }),
    /tokenizing sentence 0 gave 5 tokens; expected 1 to maxLen=4/,
  );
  assert.throws(
    () => tokenizeSentences(["a"], () => [1, -3, 2], { maxLen: 4, progress: false }),
    /gave the id -3 at position 1/,
  );
  assert.throws(() => tokenizeSentences([""], () => [], { maxLen: 4, progress: false }), /gave 0 tokens/);
});
