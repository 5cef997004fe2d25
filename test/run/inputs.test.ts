// inputs.json: the fingerprints a run records, read back with checks, and compared before a resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRunInputs, readRunInputs, RunDirectory, writeRunInputs } from "../../src/run/index.js";
import { fingerprintText, type FileFingerprint } from "../../src/util/file-fingerprint.js";
import { MemoryStorage } from "./memory-storage.js";

const corpus: FileFingerprint = { path: "/data/c.txt", size: 3, sha256: "a".repeat(64) };

test("recorded inputs round-trip; a malformed record names the field; a run without one is not checked", async () => {
  const storage = new MemoryStorage();
  const run = new RunDirectory("/runs/a", storage);
  await storage.writeAtomic("/runs/a/tokenizer.json", '{"model":{}}');
  assert.equal(await readRunInputs("/runs/a", storage), null);
  let asked = 0;
  await run.checkInputs(async () => (asked++, null), "x"); // nothing recorded: nothing to compare
  assert.equal(asked, 0, "the corpus is not even fingerprinted");

  await run.writeInputs(corpus);
  assert.deepEqual(await readRunInputs("/runs/a", storage), {
    corpus,
    tokenizer: fingerprintText("/runs/a/tokenizer.json", '{"model":{}}'),
  });
  await run.checkInputs(async () => ({ ...corpus, path: "/elsewhere/copy.txt" }), "x"); // a copy matches

  await writeRunInputs("/runs/b", { corpus: null, tokenizer: corpus }, storage);
  assert.equal((await readRunInputs("/runs/b", storage))?.corpus, null);
  await storage.writeAtomic(
    "/runs/b/inputs.json",
    JSON.stringify({ corpus: { path: "x", size: -1 }, tokenizer: corpus }),
  );
  await assert.rejects(readRunInputs("/runs/b", storage), {
    message: `/runs/b/inputs.json: "corpus" must be null or {"path", "size", "sha256"}, got {"path":"x","size":-1}`,
  });
});

test("a changed corpus or tokenizer is refused with what changed and the consequence", async () => {
  const storage = new MemoryStorage();
  const run = new RunDirectory("/runs/a", storage);
  await storage.writeAtomic("/runs/a/tokenizer.json", "{}");
  await run.writeInputs(corpus);
  const changed = { ...corpus, size: 4, sha256: "b".repeat(64) };
  await assert.rejects(
    checkRunInputs("/runs/a", async () => changed, "resuming would differ", storage),
    {
      message:
        `/runs/a: since the run started (inputs.json), the corpus /data/c.txt changed: ` +
        `was 3 bytes (sha256 aaaaaaaaaaaa...), now 4 bytes (sha256 bbbbbbbbbbbb...); ` +
        `resuming would differ. Restore the file, or start a new run`,
    },
  );
  await storage.writeAtomic("/runs/a/tokenizer.json", "{ }");
  await assert.rejects(
    checkRunInputs("/runs/a", async () => corpus, "resuming would differ", storage),
    {
      message:
        /^\/runs\/a: since the run started \(inputs\.json\), the tokenizer \/runs\/a\/tokenizer\.json changed: was 2 bytes .*, now 3 bytes/,
    },
  );
});
