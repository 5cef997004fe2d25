import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeFileAtomic, writeFileAtomicSync } from "../../src/util/atomic-write.js";

const root = mkdtempSync(join(tmpdir(), "mlm-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("writeFileAtomicSync replaces the file and leaves no temp file", () => {
  const dir = join(root, "file");
  mkdirSync(dir);
  const path = join(dir, "a.bin");
  writeFileAtomicSync(path, "old contents");
  writeFileAtomicSync(path, [new Uint8Array([1, 2]), new Uint8Array([3])]);
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  writeFileAtomicSync(path, new Uint8Array([9]));
  assert.deepEqual([...readFileSync(path)], [9]);
  assert.deepEqual(readdirSync(dir), ["a.bin"]);
});

test("writeFileAtomicSync failing midway keeps the old file and removes its temp file", () => {
  const dir = join(root, "file-fail");
  mkdirSync(dir);
  const path = join(dir, "a.txt");
  writeFileAtomicSync(path, "old");
  // The second chunk is not a byte array, so the write throws after the first chunk is on disk.
  const bad = [new Uint8Array([1, 2, 3]), { byteLength: 5 } as unknown as Uint8Array];
  assert.throws(() => writeFileAtomicSync(path, bad));
  assert.equal(readFileSync(path, "utf8"), "old");
  assert.deepEqual(readdirSync(dir), ["a.txt"]);
});

test("writeFileAtomic writes bytes, strings and streams, creating folders", async () => {
  const dir = join(root, "async", "nested");
  const path = join(dir, "a.bin");
  await writeFileAtomic(path, "text é");
  assert.equal(readFileSync(path, "utf8"), "text é");
  async function* stream(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 4; i++) yield new Uint8Array(70000).fill(i);
  }
  await writeFileAtomic(path, stream());
  const bytes = readFileSync(path);
  assert.equal(bytes.length, 280000);
  assert.deepEqual([bytes[0], bytes[70000], bytes[279999]], [0, 1, 3]);
  assert.deepEqual(readdirSync(dir), ["a.bin"]);
});

test("a stream that fails midway leaves the old file and no temp file", async () => {
  const dir = join(root, "async-fail");
  const path = join(dir, "a.txt");
  await writeFileAtomic(path, "old");
  async function* cut(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array([1, 2, 3]);
    throw new Error("connection reset");
  }
  await assert.rejects(writeFileAtomic(path, cut()), /connection reset/);
  assert.equal(readFileSync(path, "utf8"), "old");
  assert.deepEqual(readdirSync(dir), ["a.txt"]);
});
