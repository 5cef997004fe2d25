// The run module: its storage contract on Node and in memory, a whole run directory written and read
// through a storage that is not the disk, format versions, and the status record.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../../src/config/index.js";
import { nodeStorage, type Storage } from "../../src/platform/index.js";
import {
  listRuns,
  loadCheckpoint,
  modelConfigFrom,
  parseCheckpointConfig,
  readRunStatus,
  recoverDirectory,
  resolveCheckpointDir,
  RUN_FORMAT_VERSION,
  RunDirectory,
  writeRunStatus,
} from "../../src/run/index.js";
import { trainBpeFromSentences } from "../../src/tokenizer/index.js";
import { MemoryStorage } from "./memory-storage.js";

const FIXTURE_RUN = fileURLToPath(new URL("../../../test/fixtures/run-v0/run", import.meta.url));

/** What every Storage must do, checked on one rooted at `root`. */
async function checkStorageContract(storage: Storage, root: string): Promise<void> {
  const { path } = storage;
  const file = path.join(root, "a", "b.txt");
  assert.equal(await storage.stat(file), null);
  assert.deepEqual(await storage.list(path.join(root, "a")), []);
  await assert.rejects(storage.readText(file), /b\.txt: file not found/);
  await storage.writeAtomic(file, "one é");
  assert.equal(await storage.readText(file), "one é");
  assert.equal((await storage.stat(file))?.kind, "file");
  assert.equal((await storage.stat(path.join(root, "a")))?.kind, "directory");
  await storage.writeAtomic(file, [new Uint8Array([1, 2]), new Uint8Array([3])]);
  assert.deepEqual([...(await storage.readBytes(file))], [1, 2, 3]);
  const log = await storage.openAppend(path.join(root, "a", "log.txt"));
  log.append("x\n");
  log.append("y\n");
  await log.close();
  await log.close();
  assert.equal(await storage.readText(path.join(root, "a", "log.txt")), "x\ny\n");
  const again = await storage.openAppend(path.join(root, "a", "log.txt"), { truncate: true });
  await again.close();
  assert.equal(await storage.readText(path.join(root, "a", "log.txt")), "");
  // Exclusive creation: the first wins, the second changes nothing, no temporary file stays behind.
  const lock = path.join(root, "l", "lock.json");
  assert.equal(await storage.createExclusive(lock, "first"), true);
  assert.equal(await storage.createExclusive(lock, "second"), false);
  assert.equal(await storage.readText(lock), "first");
  assert.deepEqual(await storage.list(path.join(root, "l")), ["lock.json"]);
  await storage.remove(path.join(root, "l"));
  await storage.rename(path.join(root, "a"), path.join(root, "c"));
  assert.deepEqual((await storage.list(path.join(root, "c"))).sort(), ["b.txt", "log.txt"]);
  assert.equal(await storage.stat(path.join(root, "a")), null);
  await storage.remove(path.join(root, "c"));
  await storage.remove(path.join(root, "c")); // nothing there: no error
  assert.deepEqual(await storage.list(root), []);
}

test("the storage contract holds on Node's file system and in memory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-storage-"));
  try {
    await checkStorageContract(nodeStorage, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await checkStorageContract(new MemoryStorage(), "/runs");
});

test("a whole run directory lives in any storage: config, tokenizer, checkpoints, metrics, status", async () => {
  const memory = new MemoryStorage();
  const onDisk = join(tmpdir(), `mlm-never-written-${process.pid}`);
  const run = new RunDirectory(join(onDisk, "demo"), memory);
  const config = resolveConfig({ dModel: 16, numLayers: 1, numHeads: 2, dFF: 32, maxLen: 16, keepLast: 2 });
  const tokenizer = trainBpeFromSentences(["the cat sat", "the dog sat"], { vocabSize: 40, minFrequency: 1 });
  const modelConfig = modelConfigFrom(config, tokenizer.vocabSize);

  await run.writeConfig(config);
  await run.writeTokenizer(tokenizer);
  const saved = JSON.parse(await memory.readText(run.file("config")));
  assert.equal(Object.keys(saved)[0], "formatVersion");
  assert.equal(saved.formatVersion, RUN_FORMAT_VERSION);
  assert.deepEqual(await run.readConfig(), { ...config, outDir: run.dir });
  assert.deepEqual((await run.readTokenizer()).toJSON(), tokenizer.toJSON());

  const tensors = [{ name: "w", shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }];
  const optimizer = [{ name: "adam.m", shape: [4], data: new Float32Array(4) }];
  const ckpt = { config, modelConfig, tensors, tokenizerJson: tokenizer.toString(), optimizer };
  for (const step of [10, 20, 30]) await run.saveCheckpoint(run.lastDir(step), { ...ckpt, state: { step } });
  await run.pruneLastCheckpoints(2);
  assert.deepEqual(await run.lastCheckpoints(), [run.lastDir(20), run.lastDir(30)]);
  await run.saveCheckpoint(run.bestDir, { ...ckpt, state: { step: 20 } });

  // A crash between the swap's renames (best moved aside, the new copy not yet in) is repaired.
  await assert.rejects(
    run.saveCheckpoint(
      run.bestDir,
      { ...ckpt, state: { step: 30 } },
      {
        onStage: (s) => {
          if (s === "old-aside") throw new Error("crash");
        },
      },
    ),
    /crash/,
  );
  assert.equal(await memory.stat(run.bestDir), null);
  assert.equal(await recoverDirectory(run.bestDir, memory), true);
  const best = await loadCheckpoint(run.bestDir, { storage: memory });
  assert.deepEqual(best.state, { step: 20 });
  assert.deepEqual([...best.tensors[0].data], [1, 2, 3, 4]);
  const parsed = parseCheckpointConfig(best.config, "best/config.json", tokenizer.vocabSize);
  assert.deepEqual(parsed.modelConfig, { ...modelConfig, dropout: 0 });
  assert.deepEqual(await resolveCheckpointDir(run.dir, memory), { checkpointDir: run.bestDir, runDir: run.dir });

  const metrics = await run.openMetrics({ append: false });
  metrics.log(10, { split: "valid", loss: 3.5 }, 1);
  metrics.log(20, { split: "valid", loss: 3.25 }, 2);
  metrics.log(30, { split: "train", loss: Number.NaN }, 3);
  await metrics.close();
  await run.truncateMetrics(20);
  assert.deepEqual(
    (await run.readMetrics()).map((r) => r.step),
    [10, 20],
  );
  assert.equal(await run.readStatus(), null);
  await run.writeStatus({ state: "interrupted", step: 20, time: 5 });
  const [listed] = await listRuns(onDisk, memory);
  assert.ok(!("error" in listed));
  assert.equal(listed.bestValidLoss, 3.25);
  assert.deepEqual(listed.status, { state: "interrupted", step: 20, time: 5 });

  assert.equal(existsSync(onDisk), false, "nothing reached the disk");
});

test("a run directory of format 0 (the first layout, without formatVersion) reads; a newer format is refused with a message", async () => {
  const v0 = new RunDirectory(FIXTURE_RUN);
  const raw = JSON.parse(readFileSync(v0.file("config"), "utf8"));
  assert.equal(raw.formatVersion, undefined);
  const config = await v0.readConfig();
  assert.equal(config.dModel, 16);
  assert.equal((await v0.latestCheckpoint())?.endsWith("last-00000030"), true);
  assert.equal(await v0.readStatus(), null);

  const memory = new MemoryStorage();
  const future = new RunDirectory("/future", memory);
  await memory.writeAtomic(future.file("config"), JSON.stringify({ ...raw, formatVersion: RUN_FORMAT_VERSION + 1 }));
  await assert.rejects(
    future.readConfig(),
    new RegExp(`config\\.json: written by a newer mlm-ts \\(run format ${RUN_FORMAT_VERSION + 1}; this version`),
  );
  await memory.writeAtomic(future.file("config"), JSON.stringify({ ...raw, formatVersion: "1" }));
  await assert.rejects(future.readConfig(), /"formatVersion" must be a whole number >= 0, got "1"/);
  await assert.rejects(new RunDirectory("/nowhere", memory).readConfig(), /nowhere: not a run directory \(no config/);
});

test("status.json: each state round-trips; a bad record names the file and the field", async () => {
  const memory = new MemoryStorage();
  for (const state of ["running", "finished", "interrupted", "failed"] as const) {
    await writeRunStatus("/r", { state, step: 7, message: state === "failed" ? "out of memory" : undefined }, memory);
    const status = await readRunStatus("/r", memory);
    assert.equal(status?.state, state);
    assert.equal(status?.step, 7);
    assert.ok(typeof status?.time === "number" && Math.abs(status.time - Date.now() / 1000) < 60);
  }
  await assert.rejects(
    writeRunStatus("/r", { state: "paused" as "running", step: 1 }, memory),
    /status\.json: "state" must be one of running, finished, interrupted, failed, got "paused"/,
  );
  await memory.writeAtomic("/r/status.json", JSON.stringify({ state: "running", step: -1, time: 1 }));
  await assert.rejects(readRunStatus("/r", memory), /\/r\/status\.json: "step" must be a whole number >= 0, got -1/);
  await memory.writeAtomic("/r/status.json", "{");
  await assert.rejects(readRunStatus("/r", memory), /status\.json: not valid JSON/);
});
