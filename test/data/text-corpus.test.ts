import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { bundledCorpusPath, readCorpus } from "../../src/data/index.js";
import { textCorpus } from "../../src/data/text-corpus.js";
import { tempDir } from "../temp-dir.js";

// A tab reads its corpus from text; a run on the same text must see the sentences Node's reader sees.
test("textCorpus gives readCorpus's sentences and counts, on the bundled corpus and on odd text", async () => {
  const dir = tempDir("mlm-text-corpus-");
  const odd = join(dir, "odd.txt");
  writeFileSync(odd, "\uFEFF  a cat \r\n\n\r\na dog\na cat\n\t\nlast line without newline");
  for (const path of [bundledCorpusPath(), odd]) {
    const fromFile = await readCorpus(path, { format: "txt" });
    const fromText = textCorpus(path, readFileSync(path, "utf8"));
    assert.deepEqual(fromText.sentences, fromFile.sentences, path);
    const counts = ({ lines, emptyDropped, duplicatesDropped, sentences }: typeof fromFile.stats): number[] => [
      lines,
      emptyDropped,
      duplicatesDropped,
      sentences,
    ];
    assert.deepEqual(counts(fromText.stats), counts(fromFile.stats), path);
  }
  assert.throws(() => textCorpus("nul.txt", "a\nb\0c\n"), /^Error: nul\.txt:2: a NUL character/);
});
