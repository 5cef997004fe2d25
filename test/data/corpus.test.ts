import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readCorpus, bundledCorpusPath, projectRoot, TATOEBA_ATTRIBUTION, readLines } from "../../src/data/index.js";
import { tempDir } from "./tiny-tokenizer.js";

function write(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const TSV_ROWS = [
  "1\tCiao.\t2\tHello.",
  "3\tCome stai?\t4\t  How are you?  ",
  "5\tCiao!\t6\tHello.",
  "7\tVuoto\t8\t   ",
  "9\tGrazie.\t10\tThank you.",
];

test("TSV without header: column 4, trimmed, empty and duplicate sentences dropped, counts add up", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = write(dir, "pairs.tsv", TSV_ROWS.join("\n") + "\n");
    const { sentences, stats } = await readCorpus(path);
    assert.deepEqual(sentences, ["Hello.", "How are you?", "Thank you."]);
    assert.equal(stats.format, "tsv");
    assert.equal(stats.formatFrom, "extension");
    assert.equal(stats.headerDetected, false);
    assert.equal(stats.lines, 5);
    assert.equal(stats.emptyDropped, 1);
    assert.equal(stats.duplicatesDropped, 1);
    assert.equal(stats.sentences, 3);
  } finally {
    cleanup();
  }
});

test("TSV header detected by name and by non-numeric ids; CRLF line endings and a BOM are handled", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const named = write(dir, "named.tsv", "\ufeffid_it\tsent_it\tid_en\tsent_en\r\n" + TSV_ROWS.join("\r\n"));
    const a = await readCorpus(named);
    assert.equal(a.stats.headerDetected, true);
    assert.deepEqual(a.sentences, ["Hello.", "How are you?", "Thank you."]);
    assert.equal(a.stats.lines, 6);
    assert.equal(1 + a.stats.emptyDropped + a.stats.duplicatesDropped + a.stats.sentences, a.stats.lines);

    const other = write(dir, "other.tsv", "it\titaliano\ten\tenglish\n" + TSV_ROWS.join("\n"));
    const b = await readCorpus(other);
    assert.equal(b.stats.headerDetected, true);
    assert.deepEqual(b.sentences, a.sentences);

    // Non-numeric ids on every row: no header; the first row is data.
    const noIds = write(dir, "noids.tsv", "a\tx\tb\tFirst.\nc\ty\td\tSecond.\n");
    const c = await readCorpus(noIds);
    assert.equal(c.stats.headerDetected, false);
    assert.deepEqual(c.sentences, ["First.", "Second."]);

    // One row only, and forcing the header off / on.
    const single = write(dir, "single.tsv", "1\tx\t2\tOnly one.\n");
    assert.deepEqual((await readCorpus(single)).sentences, ["Only one."]);
    assert.deepEqual((await readCorpus(named, { header: false })).sentences[0], "sent_en");
    assert.deepEqual((await readCorpus(path(dir, "pairs2.tsv", TSV_ROWS), { header: true })).sentences, [
      "How are you?",
      "Hello.",
      "Thank you.",
    ]);
  } finally {
    cleanup();
  }
});

function path(dir: string, name: string, rows: string[]): string {
  return write(dir, name, rows.join("\n"));
}

test("plain text and JSON lines, with auto detection by extension and by content", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const txt = write(dir, "a.txt", "One.\n\n  Two.  \nOne.\n\t\nThree.");
    const t = await readCorpus(txt);
    assert.deepEqual(t.sentences, ["One.", "Two.", "Three."]);
    assert.deepEqual(
      [t.stats.format, t.stats.lines, t.stats.emptyDropped, t.stats.duplicatesDropped],
      ["txt", 6, 2, 1],
    );

    const jsonl = write(
      dir,
      "a.jsonl",
      '{"text": "One."}\n\n{"text": "Two.", "id": 3}\n{"text": "One."}\n{"text": ""}\n',
    );
    const j = await readCorpus(jsonl);
    assert.deepEqual(j.sentences, ["One.", "Two."]);
    assert.deepEqual([j.stats.format, j.stats.emptyDropped, j.stats.duplicatesDropped], ["jsonl", 2, 1]);

    const field = write(dir, "b.json", '{"sentence": "Alpha."}\n{"sentence": "Beta."}\n');
    assert.deepEqual((await readCorpus(field, { textField: "sentence" })).sentences, ["Alpha.", "Beta."]);

    // No known extension: decided from the first non-empty line.
    const j2 = await readCorpus(write(dir, "corpus.data", '\n{"text": "Hi."}\n'));
    assert.deepEqual([j2.stats.format, j2.stats.formatFrom], ["jsonl", "content"]);
    const t2 = await readCorpus(write(dir, "corpus2.data", "1\tCiao.\t2\tHi.\n"));
    assert.deepEqual([t2.stats.format, t2.sentences], ["tsv", ["Hi."]]);
    const t3 = await readCorpus(write(dir, "corpus3", "Hi there.\n"));
    assert.equal(t3.stats.format, "txt");
    // An explicit format wins over the extension.
    assert.equal((await readCorpus(txt, { format: "txt", dedupe: false })).sentences.length, 4);
  } finally {
    cleanup();
  }
});

test("malformed input gives one-line errors naming file:line and what was expected", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const badTsv = write(dir, "bad.tsv", "1\ta\t2\tOk.\n3\tb\t4\n");
    await assert.rejects(readCorpus(badTsv), (err: Error) => {
      assert.equal(
        err.message,
        `${badTsv}:2: expected 4 tab-separated columns (id_it, sent_it, id_en, sent_en), found 3`,
      );
      return true;
    });
    const badJson = write(dir, "bad.jsonl", '{"text": "ok"}\n{"text": 3}\n');
    await assert.rejects(
      readCorpus(badJson),
      /bad\.jsonl:2: expected a JSON object with a string field "text" on each line; the field is number$/,
    );
    const notJson = write(dir, "bad2.jsonl", '{"text": "ok"}\n\nnot json\n');
    await assert.rejects(readCorpus(notJson), /bad2\.jsonl:3: expected a JSON object .*invalid JSON/);
    const arr = write(dir, "bad3.jsonl", '["a"]\n');
    await assert.rejects(readCorpus(arr), /bad3\.jsonl:1: .*found an array/);
    const missing = write(dir, "bad4.jsonl", '{"sentence": "a"}\n');
    await assert.rejects(readCorpus(missing), /bad4\.jsonl:1: .*the field is missing/);
    // Latin-1 bytes (0xE9 = é) on line 3 are not UTF-8.
    const latin1 = write(
      dir,
      "latin1.txt",
      Buffer.concat([Buffer.from("ok\nfine\ncaf"), Buffer.from([0xe9]), Buffer.from("\nmore\n")]),
    );
    await assert.rejects(readCorpus(latin1), (err: Error) => {
      assert.equal(err.message, `${latin1}:3: invalid UTF-8 (expected a UTF-8 text file)`);
      return true;
    });
    // A missing corpus names the bundled ones and `mlm download`, for every format.
    for (const name of ["nope.txt", "it-en.tsv", "nope"])
      await assert.rejects(readCorpus(join(dir, name)), (err: Error) => {
        assert.equal(err.message.split(": file not found (")[0], join(dir, name));
        assert.match(
          err.message,
          /bundled: \S*data[\\/]tatoeba-en\.txt and \S*data[\\/]it-en\.sample\.tsv; `mlm download`/,
        );
        return true;
      });
    for (const p of [badTsv, badJson, latin1]) {
      const message = await readCorpus(p).then(
        () => "no error",
        (err: Error) => err.message,
      );
      assert.ok(message !== "no error" && !message.includes("\n"), "one line");
    }
  } finally {
    cleanup();
  }
});

test("line reader handles lines split across read chunks and multi-byte characters at chunk edges", async () => {
  const { dir, cleanup } = tempDir();
  try {
    // 70k characters of 2- and 3-byte text make lines straddle the 64 KiB chunk boundary.
    const lines = Array.from({ length: 3000 }, (_, i) => `${i} fiancée Reykjavík — ${"é€".repeat(i % 17)}`);
    const p = write(dir, "multi.txt", lines.join("\n") + "\n");
    const got: string[] = [];
    for await (const { lineNo, text } of readLines(p)) {
      assert.equal(lineNo, got.length + 1);
      got.push(text);
    }
    assert.deepEqual(got, lines);
  } finally {
    cleanup();
  }
});

test("a single 16 MiB line spanning hundreds of read chunks is read whole", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const long = "ab é".repeat(1 << 22); // 16 MiB of UTF-8 without a newline, then two short lines
    const p = write(dir, "long.txt", `${long}\nshort\nlast`);
    const got: string[] = [];
    for await (const { text } of readLines(p, { maxLineBytes: 32 << 20 })) got.push(text); // above the 1 MiB default
    assert.equal(got.length, 3);
    assert.ok(got[0] === long, "the long line comes back unchanged");
    assert.deepEqual(got.slice(1), ["short", "last"]);
  } finally {
    cleanup();
  }
});

test("bundled corpus: found from the module location, 65,241 unique English sentences", async () => {
  assert.match(bundledCorpusPath(), /data[\\/]tatoeba-en\.txt$/);
  assert.ok(bundledCorpusPath().startsWith(projectRoot()));
  const { sentences, stats } = await readCorpus(bundledCorpusPath());
  assert.equal(stats.format, "txt");
  assert.equal(sentences.length, 65241);
  assert.equal(stats.duplicatesDropped, 0);
  assert.equal(TATOEBA_ATTRIBUTION, "Tatoeba (tatoeba.org), CC BY 2.0 FR");

  const sample = await readCorpus(join(projectRoot(), "data", "it-en.sample.tsv"));
  assert.deepEqual([sample.stats.format, sample.stats.headerDetected, sample.stats.lines], ["tsv", false, 1000]);
  assert.equal(sample.sentences[0], "Fadil shot Dania's dog.");
});
