/** `mlm tokenizer train`: flags, errors and the file it writes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { linkSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tokenizerTrainCommand } from "../../src/cli/tokenizer-train.js";
import { captureStderr } from "../cli/capture-stderr.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { corpusLines, tempDir } from "./helpers.js";

test("trains with flags and writes a loadable tokenizer.json", async () => {
  const dir = tempDir();
  const input = join(dir, "corpus.txt");
  writeFileSync(input, corpusLines().slice(0, 2000).join("\n") + "\n");
  const out = join(dir, "tok.json");
  const code = await tokenizerTrainCommand([
    input,
    "--out",
    out,
    "--vocab-size",
    "1500",
    "--max-length",
    "64",
    "--padding",
    "longest",
    "--no-progress",
  ]);
  assert.equal(code, 0);
  const tok = Tokenizer.load(out);
  assert.equal(tok.vocabSize, 1500);
  assert.equal(tok.maxLength, 64);
  assert.equal(tok.padding?.length, "longest");
  assert.equal(tok.tokenToId("[MASK]"), 3);
});

test("rejects unknown flags, bad numbers and missing inputs with exit code 2", async () => {
  assert.equal(await tokenizerTrainCommand(["--vocab", "10"]), 2);
  assert.equal(await tokenizerTrainCommand(["x.txt", "--out", "y.json", "--padding", "wide"]), 2);
  assert.equal(await tokenizerTrainCommand(["x.txt", "--out", "y.json", "--vocab-size", "ten"]), 2);
  assert.equal(await tokenizerTrainCommand(["--out", "y.json"]), 2);
  assert.equal(await tokenizerTrainCommand(["x.txt"]), 2);
  assert.equal(await tokenizerTrainCommand(["--help"]), 0);
});

test("a missing corpus file is exit code 1", async () => {
  const dir = tempDir();
  assert.equal(await tokenizerTrainCommand([join(dir, "none.txt"), "--out", join(dir, "t.json"), "--no-progress"]), 1);
});

test("a TSV corpus trains on its English column only, like the same sentences as plain text", async () => {
  const dir = tempDir();
  const english = corpusLines().slice(0, 1500);
  const tsv = join(dir, "pairs.tsv");
  writeFileSync(
    tsv,
    "id_it\tsent_it\tid_en\tsent_en\n" +
      english.map((s, i) => `${2 * i + 1}\tfrase italiana ${i}\t${2 * i + 2}\t${s}`).join("\n") +
      "\n",
  );
  const txt = join(dir, "english.txt");
  writeFileSync(txt, english.join("\n") + "\n");
  assert.equal(
    await tokenizerTrainCommand([tsv, "--out", join(dir, "a.json"), "--vocab-size", "800", "--no-progress"]),
    0,
  );
  assert.equal(
    await tokenizerTrainCommand([txt, "--out", join(dir, "b.json"), "--vocab-size", "800", "--no-progress"]),
    0,
  );
  const a = Tokenizer.load(join(dir, "a.json"));
  assert.equal(a.tokenToId("italiana"), undefined, "the Italian column is not read");
  assert.equal(a.toString(), Tokenizer.load(join(dir, "b.json")).toString());
});

test("never writes over an input (also through a link or ..); an existing output needs --force", async () => {
  const dir = tempDir();
  const input = join(dir, "x.txt");
  const text = corpusLines().slice(0, 300).join("\n") + "\n";
  writeFileSync(input, text);
  symlinkSync(input, join(dir, "link.txt"));
  linkSync(input, join(dir, "hard.txt"));
  const { text: stderr } = await captureStderr(async () => {
    for (const out of [input, join(dir, "link.txt"), join(dir, "hard.txt"), join(dir, "new", "..", "x.txt")])
      assert.equal(await tokenizerTrainCommand([input, "--out", out, "--force", "--no-progress"]), 1, out);
  });
  assert.equal(stderr.split("\n").filter((l) => l.includes("is also an input")).length, 4, stderr);
  assert.match(
    stderr,
    new RegExp(
      `^mlm tokenizer train: --out ${input} is also an input \\(${input}\\): writing it would destroy that input; choose another path$`,
      "m",
    ),
  );
  assert.equal(readFileSync(input, "utf8"), text, "the corpus is intact");

  const out = join(dir, "tok.json");
  writeFileSync(out, "keep me");
  const refused = await captureStderr(() => tokenizerTrainCommand([input, "--out", out, "--no-progress"]));
  assert.equal(refused.result, 1);
  assert.equal(refused.text.trim(), `mlm tokenizer train: ${out} already exists; use --force to replace it`);
  assert.equal(readFileSync(out, "utf8"), "keep me");
  assert.equal(
    await tokenizerTrainCommand([input, "--out", out, "--force", "--vocab-size", "120", "--no-progress"]),
    0,
  );
  assert.equal(Tokenizer.load(out).vocabSize, 120);
});
