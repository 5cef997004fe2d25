// Labelled data sets: the three formats, column defaults and flags, every bad input with its one-line
// message, label ids, encoding with truncation (single texts and pairs), the seeded split, batches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readLabelled, labelNames, labelIds, labelledFromMemory, parseLabelled } from "../../src/data/labelled.js";
import { LABELLED_DATA_OPTIONS, readLabelledSplits } from "../../src/data/labelled-splits.js";
import { defaultsOf } from "../../src/config/index.js";
import { encodeLabelled, splitLabelled, LabelledLoader } from "../../src/data/labelled-batches.js";
import { trainBpeFromSentences } from "../../src/tokenizer/index.js";
import { tempDir } from "../temp-dir.js";

const dir = tempDir("mlm-labelled-");
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test("tsv, csv and jsonl read the same examples, with the default columns sentence/text and label", async () => {
  const tsv = await readLabelled(file("a.tsv", 'sentence\tlabel\nit "works" well\t1\nbad, bad\t0\n'));
  const csv = await readLabelled(file("a.csv", 'text,label,extra\n"it ""works"" well",1,x\n"bad, bad",0,y\n'));
  const jsonl = await readLabelled(
    file("a.jsonl", '{"text":"it \\"works\\" well","label":1}\n\n{"text":"bad, bad","label":0}\n'),
  );
  for (const f of [tsv, csv, jsonl]) {
    assert.deepEqual(
      f.examples.map((e) => [e.text, e.label]),
      [
        ['it "works" well', "1"],
        ["bad, bad", "0"],
      ],
    );
    assert.deepEqual(labelNames(f), ["0", "1"]);
  }
  assert.equal(tsv.textColumn, "sentence");
  assert.equal(csv.textColumn, "text");
  assert.deepEqual(csv.columns, ["text", "label", "extra"]);
  assert.deepEqual(
    jsonl.examples.map((e) => e.line),
    [1, 3],
  );
  assert.equal(tsv.examples[1].line, 3);
});

test("files in memory (bytes or text) read as the same files on disk, splits included", async () => {
  const csv = 'text,label\n"a, b",x\nc,y\nd,x\ne,y\nf,x\n';
  const tsv = "text\tlabel\ng\tx\nh\ty\n";
  const onDisk = await readLabelled(file("m.csv", csv));
  const fromBytes = parseLabelled(join(dir, "m.csv"), new TextEncoder().encode(csv));
  assert.deepEqual(fromBytes, onDisk);
  assert.deepEqual(parseLabelled(join(dir, "m.csv"), csv), onDisk);
  const options = { ...defaultsOf(LABELLED_DATA_OPTIONS), valid: "v.tsv" };
  const read = labelledFromMemory({ "m.csv": csv, "v.tsv": new TextEncoder().encode(tsv) });
  const memory = await readLabelledSplits("m.csv", options, read);
  file("v.tsv", tsv);
  const disk = await readLabelledSplits(join(dir, "m.csv"), { ...options, valid: join(dir, "v.tsv") });
  assert.deepEqual([memory.train, memory.valid, memory.id2label], [disk.train, disk.valid, disk.id2label]);
  assert.deepEqual([memory.trainLabels, memory.validLabels], [disk.trainLabels, disk.validLabels]);
  await assert.rejects(
    read("other.tsv", {}),
    /^CorpusError: other.tsv: not among the labelled files given \("m.csv", "v.tsv"\)$/,
  );
  assert.throws(() => parseLabelled("bad.tsv", new Uint8Array([0x74, 0xff])), /^CorpusError: bad.tsv: not UTF-8 text/);
  assert.throws(() => parseLabelled("x.txt", csv), /x.txt: a labelled data set is .tsv, .csv or .jsonl, got ".txt"/);
});

test("named columns, sentence pairs and string labels (sorted), integers in numeric order", async () => {
  const f = await readLabelled(file("p.csv", "q,a,y\nwho?,me,yes\nwhy?,no idea,no\n"), {
    textColumn: "q",
    textPairColumn: "a",
    labelColumn: "y",
  });
  assert.deepEqual(f.examples[1], { text: "why?", textPair: "no idea", label: "no", line: 3 });
  assert.deepEqual(labelNames(f), ["no", "yes"]);
  const g = await readLabelled(file("n.tsv", "text\tlabel\na\t10\nb\t9\nc\t-1\n"));
  assert.deepEqual(labelNames(g), ["-1", "9", "10"]);
  assert.deepEqual(labelIds(g, labelNames(g)), new Int32Array([2, 1, 0]));
});

test("bad inputs: one line naming the file, the line and the column", async () => {
  const reject = async (name: string, text: string, re: RegExp, columns = {}): Promise<void> => {
    await assert.rejects(readLabelled(file(name, text), columns), (err: Error) => {
      assert.match(err.message, re);
      assert.ok(!err.message.includes("\n"), `one line: ${err.message}`);
      return true;
    });
  };
  await reject(
    "m.tsv",
    "review\tstars\ngood\t5\n",
    /m\.tsv: no text column "sentence" or "text"; the columns are "review", "stars" \(name it with --text-column\)/,
  );
  await reject(
    "l.tsv",
    "text\tstars\ngood\t5\n",
    /l\.tsv: no label column "label"; the columns are "text", "stars" \(name it with --label-column\)/,
  );
  await reject("n.csv", "text,label\ngood,1\n", /no text column "body"; the columns are "text", "label"/, {
    textColumn: "body",
  });
  await reject("e.tsv", "text\tlabel\ngood\t1\n  \t0\n", /e\.tsv line 3: column "text" is empty/);
  await reject("el.csv", "text,label\ngood,\n", /el\.csv line 2: label column "label" is empty/);
  await reject("j.jsonl", '{"text":"a","label":1}\n{"text":"b"}\n', /j\.jsonl line 2: no column "label" in this row/);
  await reject("jb.jsonl", '{"text":"a","label":1}\n{"text":"b",\n', /jb\.jsonl line 2: not valid JSON/);
  await reject(
    "jl.jsonl",
    '{"text":"a","label":1.5}\n',
    /jl\.jsonl line 1: label column "label" holds 1.5, expected a string or an integer/,
  );
  await reject("c.csv", 'text,label\n"a,1\n', /c\.csv: Quote Not Closed/);
  await reject("r.csv", "text,label\na,1,2\n", /r\.csv: Invalid Record Length.*line 2/);
  await reject("h.tsv", "", /h\.tsv: empty file/);
  await reject("x.txt", "a\n", /x\.txt: a labelled data set is \.tsv, \.csv or \.jsonl, got "\.txt"/);
  await assert.rejects(readLabelled(join(dir, "absent.tsv")), /absent\.tsv: cannot read the file \(ENOENT\)/);
  const single = await readLabelled(file("s.tsv", "text\tlabel\na\tpos\nb\tpos\n"));
  assert.throws(
    () => labelNames(single),
    /s\.tsv: every example has the label "pos" in column "label"; a classifier needs at least 2 classes/,
  );
  const unseen = await readLabelled(file("u.tsv", "text\tlabel\na\tpos\nb\tmaybe\n"));
  assert.throws(
    () => labelIds(unseen, ["neg", "pos"]),
    /u\.tsv line 3: label "maybe" was never seen in training \(its labels: "neg", "pos"\)/,
  );
});

test("encoding: [CLS] text [SEP] and [CLS] a [SEP] b [SEP], cut to maxLen (longest first) and counted", () => {
  const tok = trainBpeFromSentences(["one two three four five six", "a b c d e f g h"], {
    vocabSize: 80,
    minFrequency: 1,
  });
  const cls = tok.tokenToId("[CLS]")!;
  const sep = tok.tokenToId("[SEP]")!;
  tok.setTruncation(64);
  const split = encodeLabelled(
    tok,
    [{ text: "one two" }, { text: "one two three four five six" }, { text: "a b c d e f", textPair: "one two" }],
    new Int32Array([0, 1, 1]),
    6,
  );
  const sentence = (i: number): number[] => [...split.ids.subarray(split.offsets[i], split.offsets[i + 1])];
  const id = (w: string): number => tok.tokenToId(w)!;
  assert.deepEqual(sentence(0), [cls, id("one"), id("two"), sep]);
  assert.deepEqual(sentence(1), [cls, id("one"), id("two"), id("three"), id("four"), sep]);
  // pair: room 3 tokens; the longer text loses its last token each time (a on ties): 6+2 -> 2+2 -> 1+2
  assert.deepEqual(sentence(2), [cls, id("a"), sep, id("one"), id("two"), sep]);
  assert.equal(split.truncated, 2);
  assert.equal(tok.maxLength, 64, "the tokenizer's own truncation is restored");
});

test("the split is seeded; batches carry each sentence's class on its [CLS] row, shuffled per epoch", () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  const a = splitLabelled(items, 0.2, 7);
  assert.deepEqual(splitLabelled(items, 0.2, 7), a);
  assert.equal(a.valid.length, 2);
  assert.deepEqual(
    [...a.train, ...a.valid].sort((x, y) => x - y),
    items,
  );
  assert.throws(() => splitLabelled(items, 1, 7), /validation fraction must be in \(0, 1\), got 1/);

  const split = {
    ids: new Int32Array([1, 5, 2, 1, 6, 7, 2, 1, 8, 2]),
    offsets: new Int32Array([0, 3, 7, 10]),
    count: 3,
    labels: new Int32Array([2, 0, 1]),
    truncated: 0,
  };
  const loader = new LabelledLoader(split, { batchSize: 2, maxLen: 8, padId: 0, shuffle: true, seed: 3 });
  assert.equal(loader.batchesPerEpoch, 2);
  assert.deepEqual(loader.largestBatch(), { maxRows: 7, maxSeqs: 2 });
  const seen: number[] = [];
  for (let i = 0; i < 2; i++) {
    const { batch } = loader.next();
    for (let b = 0; b < batch.numSeqs; b++) {
      const first = batch.seqs[3 * b];
      const which = [5, 6, 8].indexOf(batch.ids[first + 1]);
      assert.equal(batch.labels[first], split.labels[which]);
      for (let r = first + 1; r < first + batch.seqs[3 * b + 1]; r++) assert.equal(batch.labels[r], -100);
      seen.push(which);
    }
    assert.equal(batch.numMasked, batch.numSeqs);
  }
  assert.deepEqual(seen.sort(), [0, 1, 2]);
  assert.deepEqual({ ...loader.position(), rng: null }, { epoch: 1, index: 0, rng: null });
  loader.restore({ epoch: 0, index: 1 });
  assert.deepEqual({ ...loader.position(), rng: null }, { epoch: 0, index: 1, rng: null });
  assert.throws(() => loader.restore({ epoch: 0, index: 2 }), /outside this split/);
});
