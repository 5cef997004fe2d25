/** The chunked line reader: chunk boundaries, long lines, CRLF, byte-order mark, bad bytes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { forEachLineChunk, WordCounter } from "../../src/tokenizer/index.js";
import { tempDir } from "./helpers.js";

test("lines come back exactly across 1 MiB chunks, with CRLF, a BOM and a line longer than a chunk", () => {
  const lines: string[] = [];
  for (let i = 0; i < 60000; i++) lines.push(`línea ${i} café ${"ü".repeat(i % 13)}`);
  lines.splice(30000, 0, "x".repeat(3 << 20)); // 3 MiB line
  const path = join(tempDir(), "big.txt");
  writeFileSync(path, "\ufeff" + lines.join("\r\n") + "\r\n");
  const got: string[] = [];
  let chunks = 0;
  forEachLineChunk(
    path,
    (ls) => {
      chunks++;
      for (const l of ls) got.push(l);
    },
    { maxLineBytes: 4 << 20 }, // the 3 MiB line is above the default limit
  );
  assert.ok(chunks >= 2, `${chunks} chunks`);
  assert.equal(got.length, lines.length);
  for (let i = 0; i < lines.length; i++) assert.equal(got[i], lines[i], `line ${i + 1}`);
});

test("word counts: one entry per distinct word, whatever the corpus size", () => {
  const path = join(tempDir(), "rep.txt");
  writeFileSync(path, "The cat, the dog.\n".repeat(50000));
  const counter = new WordCounter({ nfkc: false, lowercase: true, stripAccents: false }, "whitespace");
  counter.addFile(path);
  assert.deepEqual(
    [...counter.counts],
    [
      ["the", 100000],
      ["cat", 50000],
      [",", 50000],
      ["dog", 50000],
      [".", 50000],
    ],
  );
  assert.equal(counter.sentences, 50000);
});

test("an invalid byte far into the file is reported with its line number", () => {
  const path = join(tempDir(), "bad.txt");
  const good = Buffer.from("fine line\n".repeat(200000));
  writeFileSync(path, Buffer.concat([good, Buffer.from([0xff, 0x0a])]));
  assert.throws(() => forEachLineChunk(path, () => {}), /bad\.txt:200001: invalid UTF-8/);
});
