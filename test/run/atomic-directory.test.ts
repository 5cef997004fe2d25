import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { recoverDirectory, writeDirectoryAtomic, type SwapStage } from "../../src/run/atomic-directory.js";

const root = mkdtempSync(join(tmpdir(), "mlm-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));

function writeVersion(target: string, version: string, onStage?: (s: SwapStage) => void): Promise<void> {
  return writeDirectoryAtomic(
    target,
    async (out) => {
      await out.writeFile("a.txt", `a ${version}`);
      await out.writeFile("b.txt", `b ${version}`);
    },
    { onStage },
  );
}

function contents(target: string): string[] {
  return readdirSync(target)
    .sort()
    .map((name) => readFileSync(join(target, name), "utf8"));
}

test("writeDirectoryAtomic creates, then replaces, a whole directory", async () => {
  const parent = join(root, "dir");
  const target = join(parent, "ckpt");
  const stages: SwapStage[] = [];
  await writeVersion(target, "v1", (s) => stages.push(s));
  assert.deepEqual(stages, ["wrote:a.txt", "wrote:b.txt", "temp-complete", "new-in", "done"]);
  stages.length = 0;
  await writeVersion(target, "v2", (s) => stages.push(s));
  assert.deepEqual(stages, ["wrote:a.txt", "wrote:b.txt", "temp-complete", "old-aside", "new-in", "done"]);
  assert.deepEqual(contents(target), ["a v2", "b v2"]);
  assert.deepEqual(readdirSync(parent), ["ckpt"]);
  for (const name of ["../escape", "sub/../../escape", "/abs", "sub//x", "./x"])
    await assert.rejects(
      writeDirectoryAtomic(target, (out) => out.writeFile(name, "x")),
      /must be a relative file path without "\." or "\.\."/,
      name,
    );
  // A file in a sub-folder (an export's data/train_ids.npy) is written inside the unit.
  await writeDirectoryAtomic(target, async (out) => {
    await out.writeFile("a.txt", "a v3");
    await out.writeFile("sub/b.txt", "b v3");
  });
  assert.equal(readFileSync(join(target, "sub", "b.txt"), "utf8"), "b v3");
  await writeVersion(target, "v2");
  await assert.rejects(
    writeDirectoryAtomic(target, async (out) => {
      await out.writeFile("a.txt", "1");
      await out.writeFile("a.txt", "2");
    }),
    /"a\.txt" written twice/,
  );
  await assert.rejects(
    writeDirectoryAtomic(target, async () => {}),
    /no file written/,
  );
  assert.deepEqual(contents(target), ["a v2", "b v2"]);
  assert.deepEqual(readdirSync(parent), ["ckpt"]);
});

test("a failure at any stage leaves the old or the new complete directory after recovery", async () => {
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
    await writeVersion(target, "v1");
    await assert.rejects(
      writeVersion(target, "v2", (s) => {
        if (s === failAt) throw new Error("injected crash");
      }),
      /injected crash/,
    );
    await recoverDirectory(target);
    assert.deepEqual(contents(target), [`a ${survivor}`, `b ${survivor}`], `failure at ${failAt}`);
    assert.deepEqual(readdirSync(parent), ["ckpt"], `leftovers after failure at ${failAt}`);
  }
});

test("recoverDirectory restores the aside copy and deletes leftovers", async () => {
  const parent = join(root, "recover");
  const target = join(parent, "ckpt");
  // What a crash between the two renames leaves: no target, an aside copy, a complete temp dir.
  mkdirSync(join(parent, "ckpt.old-1-aa"), { recursive: true });
  writeFileSync(join(parent, "ckpt.old-1-aa", "a.txt"), "old");
  mkdirSync(join(parent, "ckpt.tmp-1-bb"));
  writeFileSync(join(parent, "ckpt.tmp-1-bb", "a.txt"), "maybe half written");
  mkdirSync(join(parent, "other.tmp-1-cc")); // another target's leftovers are not touched
  assert.equal(await recoverDirectory(`${target}/`), true); // a trailing slash names the same directory
  assert.deepEqual(contents(target), ["old"]);
  assert.deepEqual(readdirSync(parent).sort(), ["ckpt", "other.tmp-1-cc"]);
  assert.equal(await recoverDirectory(target), false);
  assert.equal(existsSync(join(parent, "ckpt.old-1-aa")), false);
});
