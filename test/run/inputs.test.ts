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

test("a fine-tuning run's validation file is recorded by its absolute path and read again there before a resume", async () => {
  const storage = new MemoryStorage();
  const run = new RunDirectory("/runs/ft", storage);
  await storage.writeAtomic("/runs/ft/tokenizer.json", "{}");
  await storage.writeAtomic("/data/dev.tsv", "sentence\tlabel\ngood\t1\n");
  await run.writeInputs(corpus, "/data/dev.tsv");
  const recorded = await readRunInputs("/runs/ft", storage);
  assert.deepEqual(recorded?.valid, fingerprintText("/data/dev.tsv", "sentence\tlabel\ngood\t1\n"));
  await run.checkInputs(async () => corpus, "x"); // unchanged: accepted
  await storage.writeAtomic("/data/dev.tsv", "sentence\tlabel\ngood\t1\nbad\t0\n");
  await assert.rejects(
    run.checkInputs(async () => corpus, "resuming would differ"),
    {
      message:
        /^\/runs\/ft: since the run started \(inputs\.json\), the validation file \/data\/dev\.tsv changed: was 22 bytes \(sha256 [0-9a-f]{12}\.\.\.\), now 28 bytes .*; resuming would differ\. Restore the file, or start a new run$/,
    },
  );
  await storage.remove("/data/dev.tsv");
  await assert.rejects(
    run.checkInputs(async () => corpus, "resuming would differ"),
    {
      message: /the validation file \/data\/dev\.tsv is missing; resuming would differ/,
    },
  );
  await assert.rejects(run.writeInputs(corpus, "/data/dev.tsv"), { message: "/data/dev.tsv: file not found" });
  // a run without one records none
  await run.writeInputs(corpus);
  assert.equal("valid" in (await readRunInputs("/runs/ft", storage))!, false);
  await storage.writeAtomic("/runs/ft/inputs.json", JSON.stringify({ corpus, tokenizer: corpus, valid: { path: 1 } }));
  await assert.rejects(readRunInputs("/runs/ft", storage), { message: /"valid" must be \{"path", "size", "sha256"\}/ });
});
