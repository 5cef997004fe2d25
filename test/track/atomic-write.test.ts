import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  recoverDirectory,
  writeDirectoryAtomic,
  writeFileAtomic,
  type SwapStage,
} from "../../src/track/atomic-write.js";

const root = mkdtempSync(join(tmpdir(), "mlm-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("writeFileAtomic replaces the file and leaves no temp file", () => {
  const dir = join(root, "file");
  mkdirSync(dir);
  const path = join(dir, "a.bin");
  writeFileAtomic(path, "old contents");
  writeFileAtomic(path, [new Uint8Array([1, 2]), new Uint8Array([3])]);
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  writeFileAtomic(path, new Uint8Array([9]));
  assert.deepEqual([...readFileSync(path)], [9]);
  assert.deepEqual(readdirSync(dir), ["a.bin"]);
});

test("writeFileAtomic failing midway keeps the old file and removes its temp file", () => {
  const dir = join(root, "file-fail");
  mkdirSync(dir);
  const path = join(dir, "a.txt");
  writeFileAtomic(path, "old");
  // The second chunk is not a byte array, so the write throws after the first chunk is on disk.
  const bad = [new Uint8Array([1, 2, 3]), { byteLength: 5 } as unknown as Uint8Array];
  assert.throws(() => writeFileAtomic(path, bad));
  assert.equal(readFileSync(path, "utf8"), "old");
  assert.deepEqual(readdirSync(dir), ["a.txt"]);
});

function writeVersion(target: string, version: string, onStage?: (s: SwapStage) => void): void {
  writeDirectoryAtomic(
    target,
    (out) => {
      out.writeFile("a.txt", `a ${version}`);
      out.writeFile("b.txt", `b ${version}`);
    },
    { onStage },
  );
}

function contents(target: string): string[] {
  return readdirSync(target)
    .sort()
    .map((name) => readFileSync(join(target, name), "utf8"));
}

test("writeDirectoryAtomic creates, then replaces, a whole directory", () => {
  const parent = join(root, "dir");
  const target = join(parent, "ckpt");
  const stages: SwapStage[] = [];
  writeVersion(target, "v1", (s) => stages.push(s));
  assert.deepEqual(stages, ["wrote:a.txt", "wrote:b.txt", "temp-complete", "new-in", "done"]);
  stages.length = 0;
  writeVersion(target, "v2", (s) => stages.push(s));
  assert.deepEqual(stages, ["wrote:a.txt", "wrote:b.txt", "temp-complete", "old-aside", "new-in", "done"]);
  assert.deepEqual(contents(target), ["a v2", "b v2"]);
  assert.deepEqual(readdirSync(parent), ["ckpt"]);
  assert.throws(() => writeDirectoryAtomic(target, (out) => out.writeFile("../escape", "x")), /plain file name/);
  assert.deepEqual(readdirSync(parent), ["ckpt"]);
});

test("a failure at any stage leaves the old or the new complete directory after recovery", () => {
  const expected: Record<string, string> = {
    "wrote:a.txt": "v1",
    "wrote:b.txt": "v1",
    "temp-complete": "v1",
    "old-aside": "v1",
    "new-in": "v2",
  };
  for (const [failAt, survivor] of Object.entries(expected)) {
    const parent = join(root, `fail-${failAt.replace(":", "-")}`);
    const target = join(parent, "ckpt");
    writeVersion(target, "v1");
    assert.throws(
      () =>
        writeVersion(target, "v2", (s) => {
          if (s === failAt) throw new Error("injected crash");
        }),
      /injected crash/,
    );
    recoverDirectory(target);
    assert.deepEqual(contents(target), [`a ${survivor}`, `b ${survivor}`], `failure at ${failAt}`);
    assert.deepEqual(readdirSync(parent), ["ckpt"], `leftovers after failure at ${failAt}`);
  }
});

test("recoverDirectory restores the aside copy and deletes leftovers", () => {
  const parent = join(root, "recover");
  const target = join(parent, "ckpt");
  // What a crash between the two renames leaves: no target, an aside copy, a complete temp dir.
  mkdirSync(join(parent, "ckpt.old-1-aa"), { recursive: true });
  writeFileSync(join(parent, "ckpt.old-1-aa", "a.txt"), "old");
  mkdirSync(join(parent, "ckpt.tmp-1-bb"));
  writeFileSync(join(parent, "ckpt.tmp-1-bb", "a.txt"), "maybe half written");
  mkdirSync(join(parent, "other.tmp-1-cc")); // another target's leftovers are not touched
  assert.equal(recoverDirectory(`${target}/`), true); // a trailing slash names the same directory
  assert.deepEqual(contents(target), ["old"]);
  assert.deepEqual(readdirSync(parent).sort(), ["ckpt", "other.tmp-1-cc"]);
  assert.equal(recoverDirectory(target), false);
  assert.equal(existsSync(join(parent, "ckpt.old-1-aa")), false);
});
