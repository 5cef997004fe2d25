/** `mlm tokenizer train`: flags, errors and the file it writes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tokenizerTrainCommand } from "../../src/cli/tokenizer-train.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { corpusLines, tempDir } from "./helpers.js";

test("trains with flags and writes a loadable tokenizer.json", async () => {
  const dir = tempDir();
  const input = join(dir, "corpus.txt");
  writeFileSync(input, corpusLines().slice(0, 2000).join("\n") + "\n");
  const out = join(dir, "tok.json");
  const code = await tokenizerTrainCommand([input, "--out", out, "--vocab-size", "1500", "--max-length", "64", "--padding", "longest", "--no-progress"]);
  assert.equal(code, 0);
  const tok = Tokenizer.load(out);
  assert.equal(tok.vocabSize, 1500);
  assert.equal(tok.maxLength, 64);
  assert.equal(tok.padding?.length, "longest");
  assert.equal(tok.tokenToId("[MASK]"), 3);
});

test("rejects unknown flags, bad numbers and missing inputs with exit code 2", async () => {
  assert.equal(await tokenizerTrainCommand(["--vocab", "10"]), 2);
  assert.equal(await tokenizerTrainCommand(["x.txt", "--out", "y.json", "--vocab-size", "ten"]), 2);
  assert.equal(await tokenizerTrainCommand(["--out", "y.json"]), 2);
  assert.equal(await tokenizerTrainCommand(["x.txt"]), 2);
  assert.equal(await tokenizerTrainCommand(["--help"]), 0);
});

test("a missing corpus file is exit code 1", async () => {
  const dir = tempDir();
  assert.equal(await tokenizerTrainCommand([join(dir, "none.txt"), "--out", join(dir, "t.json"), "--no-progress"]), 1);
});
