// The PyTorch export's shard writer: sentences split at sentence boundaries into shards of at most
// shardTokens tokens, offsets from 0 in each, labels and classes beside them, uint16 ids for a
// vocabulary that fits and int32 otherwise; an empty split still gets one (empty) shard; a sentence
// larger than a shard, an id outside the vocabulary or a missing label is refused, naming the sentence.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DirectoryWriter } from "../../src/run/index.js";
import { NpyShardWriter } from "../../src/interop/npy-shards.js";

/** A DirectoryWriter that keeps each file's bytes. */
function memoryWriter(): { out: DirectoryWriter; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  const out: DirectoryWriter = {
    path: "memory",
    writeFile: async (name, data) => {
      files.set(name, Buffer.concat((typeof data === "string" ? [Buffer.from(data)] : data) as Uint8Array[]));
    },
  };
  return { out, files };
}

/** dtype and values of a 1-D .npy file. */
function values(bytes: Buffer | undefined): { descr: string; data: number[] } {
  assert.ok(bytes !== undefined);
  const h = bytes.readUInt16LE(8);
  const descr = /'descr': '([^']+)'/.exec(bytes.subarray(10, 10 + h).toString("latin1"))![1];
  const body = bytes.subarray(10 + h);
  const width = descr === "<u2" ? 2 : 4;
  const data = Array.from({ length: body.length / width }, (_, i) =>
    width === 2 ? body.readUInt16LE(2 * i) : body.readInt32LE(4 * i),
  );
  return { descr, data };
}

test("sentences go into shards of at most shardTokens tokens, each whole, with their labels", async () => {
  const { out, files } = memoryWriter();
  const w = new NpyShardWriter(out, "valid", { vocabSize: 100, shardTokens: 5, labels: true });
  const sentences = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10], [11, 12, 13, 14, 15]];
  for (const s of sentences) await w.add(s, { labels: s.map((id) => (id % 2 === 0 ? id : -100)) });
  assert.deepEqual(await w.finish(), { sentences: 5, tokens: 15, shards: 3 });
  assert.deepEqual(values(files.get("data/valid-00000.ids.npy")), { descr: "<u2", data: [1, 2, 3, 4, 5] });
  assert.deepEqual(values(files.get("data/valid-00000.offsets.npy")).data, [0, 3, 5]);
  assert.deepEqual(values(files.get("data/valid-00001.ids.npy")).data, [6, 7, 8, 9, 10]);
  assert.deepEqual(values(files.get("data/valid-00001.offsets.npy")).data, [0, 4, 5]);
  assert.deepEqual(values(files.get("data/valid-00001.labels.npy")), {
    descr: "<i4",
    data: [6, -100, 8, -100, 10],
  });
  assert.deepEqual(values(files.get("data/valid-00002.offsets.npy")).data, [0, 5]);
  assert.equal(w.files.length, 9);
});

test("classes per sentence, int32 ids past 65536, an empty split, and the refusals", async () => {
  const { out, files } = memoryWriter();
  const w = new NpyShardWriter(out, "train", { vocabSize: 70000, shardTokens: 4, classes: true });
  await w.add([1, 69999], { cls: 1 });
  await w.add([3], { cls: 0 });
  await w.finish();
  assert.deepEqual(values(files.get("data/train-00000.ids.npy")), { descr: "<i4", data: [1, 69999, 3] });
  assert.deepEqual(values(files.get("data/train-00000.classes.npy")).data, [1, 0]);

  const empty = new NpyShardWriter(out, "empty", { vocabSize: 10, shardTokens: 4 });
  assert.deepEqual(await empty.finish(), { sentences: 0, tokens: 0, shards: 1 });
  assert.deepEqual(values(files.get("data/empty-00000.offsets.npy")).data, [0]);

  const strict = new NpyShardWriter(out, "x", { vocabSize: 10, shardTokens: 4, classes: true });
  await assert.rejects(strict.add([1, 2, 3, 4, 5], { cls: 0 }), /x: sentence 0 has 5 tokens, more than a shard's 4/);
  await assert.rejects(strict.add([1, 10], { cls: 0 }), /x: sentence 0 has id 10 outside the vocabulary/);
  await assert.rejects(strict.add([1]), /x: sentence 0 needs its class/);
  assert.throws(() => new NpyShardWriter(out, "y", { vocabSize: 10, shardTokens: 0 }), /shardTokens must be/);
});
