import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  corpusBytes,
  corpusText,
  corpusFiles,
  hashSentence,
  inMemory,
  MlmDataLoader,
  prepareStreamed,
  readCorpus,
  sentenceIds,
  sideOf,
  Side,
  type DataLoaderOptions,
  type StreamPrepareOptions,
} from "../../src/data/index.js";
import { DEFAULT_CONFIG } from "../../src/config/table.js";
import { trainBpeFromSentences, type Tokenizer } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "../temp-dir.js";

const WORDS =
  "the a cat dog bird sees eats likes small big red blue house tree river runs sleeps near under over".split(" ");

/** `n` seeded sentences of 3 to 9 words, with some repeats (every 7th repeats an earlier one). */
function sentences(n: number, seed: number): string[] {
  const rng = Rng.derive(seed, "test/stream");
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 7 === 6) out.push(out[rng.int(out.length)]);
    else out.push(Array.from({ length: 3 + rng.int(7) }, () => WORDS[rng.int(WORDS.length)]).join(" ") + ".");
  }
  return out;
}

let tokenizerCache: Tokenizer | undefined;
function tokenizer(): Tokenizer {
  tokenizerCache ??= trainBpeFromSentences(sentences(400, 1), { vocabSize: 120, minFrequency: 1, maxLength: 32 });
  return tokenizerCache;
}

/** A corpus folder: a plain .txt, a gzipped .txt.gz and a JSON-lines file. */
function corpusFolder(dir: string, all: string[]): string {
  const folder = join(dir, "corpus");
  mkdirSync(folder);
  const third = Math.floor(all.length / 3);
  writeFileSync(join(folder, "a.txt"), all.slice(0, third).join("\n") + "\n");
  writeFileSync(join(folder, "b.txt.gz"), gzipSync(all.slice(third, 2 * third).join("\n") + "\n"));
  writeFileSync(
    join(folder, "c.jsonl"),
    all
      .slice(2 * third)
      .map((text) => JSON.stringify({ text }))
      .join("\n") + "\n",
  );
  return folder;
}

function options(
  data: string,
  cacheDir: string,
  over: Partial<StreamPrepareOptions["config"]> = {},
): StreamPrepareOptions {
  return {
    config: { ...DEFAULT_CONFIG, data, cacheDir, progress: false, maxLen: 32, ...over },
    tokenizer: tokenizer(),
    log: () => undefined,
  };
}

const decodeAll = (tok: Tokenizer, split: Parameters<typeof sentenceIds>[0]): string[] =>
  Array.from({ length: split.count }, (_, i) => tok.decode([...sentenceIds(split, i)], { skipSpecialTokens: true }));

test("streamed sample 1: the same unique sentences as the in-memory reading, split by sentence hash", async () => {
  const dir = tempDir();
  const all = sentences(3000, 2);
  const folder = corpusFolder(dir, all);
  const data = await prepareStreamed(options(folder, join(dir, "cache"), { sample: 1, trainFraction: 0.8 }));
  writeFileSync(join(dir, "all.txt"), all.join("\n"));
  const { sentences: unique } = await readCorpus(join(dir, "all.txt"));
  const tok = tokenizer();
  const expected = unique.map((s) => tok.decode([...tok.encodeIds(s)], { skipSpecialTokens: true }));
  const got = [...decodeAll(tok, data.train), ...decodeAll(tok, data.valid)];
  assert.deepEqual([...got].sort(), [...expected].sort());
  assert.equal(data.stats.duplicatesDropped, all.length - unique.length);
  assert.equal(data.stats.files, 3);
  assert.equal(data.stats.gzipFiles, 1);
  // Each sentence is on the side its hash says, whatever file it came from.
  const trainSet = new Set(decodeAll(tok, data.train));
  for (const s of unique) {
    const side = sideOf(hashSentence(s), 42, 1, 0.8);
    assert.equal(trainSet.has(tok.decode([...tok.encodeIds(s)], { skipSpecialTokens: true })), side === Side.Train, s);
  }
  // About 80% train (binomial: 2000-odd sentences, 5 standard deviations).
  const share = data.train.count / (data.train.count + data.valid.count);
  assert.ok(Math.abs(share - 0.8) < 5 * Math.sqrt((0.8 * 0.2) / unique.length), String(share));
});

test("streamed sample 0.3: a seeded, stable share; another seed draws other sentences", async () => {
  const dir = tempDir();
  const all = sentences(3000, 3);
  const folder = corpusFolder(dir, all);
  const a = await prepareStreamed(options(folder, join(dir, "c1"), { sample: 0.3 }));
  const b = await prepareStreamed(options(folder, join(dir, "c2"), { sample: 0.3 }));
  const c = await prepareStreamed(options(folder, join(dir, "c3"), { sample: 0.3, dataSeed: 7 }));
  const tok = tokenizer();
  assert.deepEqual(decodeAll(tok, a.train), decodeAll(tok, b.train));
  assert.notDeepEqual(decodeAll(tok, a.train), decodeAll(tok, c.train));
  const unique = new Set(all).size;
  const kept = a.train.count + a.valid.count;
  assert.ok(Math.abs(kept / unique - 0.3) < 5 * Math.sqrt((0.3 * 0.7) / unique), `${kept} of ${unique}`);
  assert.equal(a.fingerprint?.sha256, c.fingerprint?.sha256); // the corpus is the same
});

test("batches read from the token cache equal the in-memory loader's, and resume exactly", async () => {
  const dir = tempDir();
  const data = await prepareStreamed(options(corpusFolder(dir, sentences(2000, 4)), join(dir, "cache"), { sample: 1 }));
  const tok = tokenizer();
  const o: DataLoaderOptions = {
    batchSize: 16,
    maxLen: 32,
    shuffle: true,
    seed: 5,
    padId: tok.tokenToId("[PAD]")!,
    maskId: tok.tokenToId("[MASK]")!,
    vocabSize: tok.vocabSize,
    isSpecial: ["[PAD]", "[CLS]", "[SEP]", "[MASK]"].map((t) => tok.tokenToId(t)!),
  };
  const disk = new MlmDataLoader(data.train, o);
  const memory = new MlmDataLoader(inMemory(data.train), o);
  assert.deepEqual(disk.largestBatch(), memory.largestBatch());
  const steps = disk.batchesPerEpoch + 5; // into the second epoch
  let saved = disk.position();
  const after: string[] = [];
  for (let s = 0; s < steps; s++) {
    const x = disk.next().batch;
    const y = memory.next().batch;
    assert.deepEqual([...x.ids], [...y.ids]);
    assert.deepEqual([...x.labels], [...y.labels]);
    if (s === 40) saved = disk.position();
    if (s > 40) after.push(JSON.stringify([[...x.ids], [...x.labels]]));
  }
  const resumed = new MlmDataLoader(data.train, o);
  resumed.restore(JSON.parse(JSON.stringify(saved)));
  for (const expected of after) {
    const x = resumed.next().batch;
    assert.equal(JSON.stringify([[...x.ids], [...x.labels]]), expected);
  }
});

test("tokenized on worker threads, the token cache is the same bytes as on one thread", async () => {
  const dir = tempDir();
  const folder = corpusFolder(dir, sentences(6000, 9));
  // Chunks of 300 sentences over 2 workers: many chunks, the in-flight bound reached, across 3 files.
  const one = await prepareStreamed({ ...options(folder, join(dir, "one"), { sample: 1 }), tokenizeThreads: 0 });
  const two = await prepareStreamed({
    ...options(folder, join(dir, "two"), { sample: 1 }),
    tokenizeThreads: 2,
    tokenizeChunk: 300,
  });
  assert.ok(one.stats.train > 4000, `${one.stats.train} training sentences`);
  for (const name of ["train.ids", "train.lengths", "valid.ids", "valid.lengths"])
    assert.deepEqual(readFileSync(join(two.cachePath, name)), readFileSync(join(one.cachePath, name)), name);
  assert.deepEqual({ ...two.stats, seconds: 0 }, { ...one.stats, seconds: 0 });
});

test("a truncated or corrupt token cache is rebuilt, with a message saying why", async () => {
  const dir = tempDir();
  const cache = join(dir, "cache");
  const folder = corpusFolder(dir, sentences(1500, 5));
  const first = await prepareStreamed(options(folder, cache, { sample: 1 }));
  const again = await prepareStreamed(options(folder, cache, { sample: 1 }));
  assert.equal(again.fromCache, true);
  const tok = tokenizer();
  const expected = decodeAll(tok, first.train);
  const ids = join(first.cachePath, "train.ids");

  const size = readFileSync(ids).length;
  truncateSync(ids, size - 3);
  const logs: string[] = [];
  const rebuilt = await prepareStreamed({ ...options(folder, cache, { sample: 1 }), log: (l) => logs.push(l) });
  assert.equal(rebuilt.fromCache, false);
  assert.match(
    logs.join("\n"),
    /unusable \(train: train\.ids: \d+ bytes, expected \d+ \(truncated\?\)\); rebuilding it/,
  );
  assert.deepEqual(decodeAll(tok, rebuilt.train), expected);

  const bytes = readFileSync(ids);
  bytes[Math.floor(bytes.length / 2)] ^= 0x40;
  writeFileSync(ids, bytes);
  logs.length = 0;
  const fixed = await prepareStreamed({ ...options(folder, cache, { sample: 1 }), log: (l) => logs.push(l) });
  assert.match(logs.join("\n"), /train\.ids: checksum mismatch \(corrupt\)/);
  assert.deepEqual(decodeAll(tok, fixed.train), expected);
});

test(".gz corpora: a damaged block is named by file and byte offset, a cut file by its size", async () => {
  const dir = tempDir();
  // Random words compress poorly: several 64 KiB blocks of gzip data.
  const text = sentences(60000, 6).join("\n") + "\n";
  const gz = gzipSync(text, { level: 1 });
  assert.ok(gz.length > 3 * 65536, String(gz.length));
  const read = async (path: string): Promise<number> => {
    let n = 0;
    for await (const block of corpusBytes(path)) n += block.length;
    return n;
  };
  const good = join(dir, "good.txt.gz");
  writeFileSync(good, gz);
  assert.equal(await read(good), Buffer.byteLength(text));

  const esc = (p: string): string => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Two gzip members; the second's first deflate block gets the invalid block type 11.
  const two = Buffer.concat([gz, gzipSync("second member\n")]);
  const at = gz.length + 10; // after the second member's 10-byte header
  two[at] = 0x07;
  const bad = join(dir, "bad.txt.gz");
  writeFileSync(bad, two);
  await assert.rejects(read(bad), (err: Error) => {
    const m = new RegExp(
      `^${esc(bad)}: corrupt gzip data in bytes (\\d+)-(\\d+) \\(invalid block type\\); expected a valid \\.gz file$`,
    ).exec(err.message);
    assert.ok(m !== null, err.message);
    assert.ok(Number(m[1]) <= at && at <= Number(m[2]) && Number(m[2]) - Number(m[1]) < 3 * 65536, err.message);
    return true;
  });
  // Damage that still decodes: only the member's checksum at its end tells, and the message says so.
  const flipped = Buffer.from(gz);
  for (let i = 140000; i < 140400; i++) flipped[i] ^= 0xa5;
  const crc = join(dir, "crc.txt.gz");
  writeFileSync(crc, flipped);
  await assert.rejects(read(crc), {
    message: `${crc}: gzip data fails its checksum (incorrect data check): damaged somewhere before byte ${gz.length}, in the gzip member ending there; expected a valid .gz file`,
  });

  const cut = join(dir, "cut.txt.gz");
  writeFileSync(cut, gz.subarray(0, 100000));
  await assert.rejects(read(cut), {
    message: `${cut}: gzip data ends before its end marker at byte 100000 (a truncated file? expected a whole .gz file)`,
  });
});

test("an interrupted preparation leaves no cache folder; the next one completes", async () => {
  const dir = tempDir();
  const cache = join(dir, "cache");
  const folder = corpusFolder(dir, sentences(60000, 7));
  const controller = new AbortController();
  const o = { ...options(folder, cache, { sample: 1 }), signal: controller.signal };
  // Interrupted once the pass has started writing its (temporary) cache folder.
  const watch = setInterval(() => {
    if (existsSync(cache) && readdirSync(cache).some((f) => f.includes(".tmp-"))) {
      clearInterval(watch);
      controller.abort(new Error("interrupted"));
    }
  }, 1);
  await assert.rejects(prepareStreamed(o), { message: "interrupted" });
  clearInterval(watch);
  assert.deepEqual(existsSync(cache) ? readdirSync(cache).filter((f) => f.startsWith("stream-")) : [], []);
  const done = await prepareStreamed(options(folder, cache, { sample: 1 }));
  assert.equal(done.fromCache, false);
  assert.ok(done.train.count > 1000);
});

test("corpusFiles: a folder, a glob with ** and *, sorted; no match is one line", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "x", "deep"), { recursive: true });
  for (const f of ["x/b.txt", "x/a.txt.gz", "x/deep/c.txt", "x/.hidden.txt", "x/deep/d.jsonl"])
    writeFileSync(join(dir, f), "a\n");
  assert.deepEqual(
    (await corpusFiles(join(dir, "x"))).map((f) => f.slice(dir.length + 1)),
    ["x/a.txt.gz", "x/b.txt", "x/deep/c.txt", "x/deep/d.jsonl"],
  );
  assert.deepEqual(
    (await corpusFiles(join(dir, "x", "**", "*.txt"))).map((f) => f.slice(dir.length + 1)),
    ["x/b.txt", "x/deep/c.txt"],
  );
  await assert.rejects(corpusFiles(join(dir, "x", "*.csv")), {
    message: `${join(dir, "x", "*.csv")}: no file matches the pattern`,
  });
});

test("corpusText (a browser tab's file): gzip decompressed with DecompressionStream, damage named with the bytes read", async () => {
  const text = sentences(20000, 8).join("\n") + "\n";
  const gz = gzipSync(text);
  assert.equal(await corpusText(new Blob([text]), "c.txt"), text);
  assert.equal(await corpusText(new Blob([gz]), "c.txt.gz"), text);
  const cut = gz.subarray(0, gz.length - 1000);
  await assert.rejects(corpusText(new Blob([cut]), "c.txt.gz"), (err: Error) =>
    /^c\.txt\.gz: corrupt or truncated gzip data, found by byte \d+ of \d+ \(.+\); expected a valid \.gz file$/.test(
      err.message,
    ),
  );
});
