// A closed output pipe (`mlm train 2>&1 | head -4`, a killed `tee`, a parent gone) never ends a
// command with a success it did not reach: mlm train stops as SIGHUP stops it (checkpoint, status
// "interrupted", lock released, exit 129) and changes none of the run's inputs. (Read-only commands:
// main.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listLastCheckpoints, loadCheckpoint, readRunStatus } from "../../src/run/index.js";
import type { TrainState } from "../../src/train/train-state.js";
import { fileHashes } from "../file-hashes.js";
import { tinyConfig } from "../train/fixtures.js";
import { scratchFolder, startMlm } from "./child.js";

const root = scratchFolder("mlm-closed-output-");

test("mlm train whose output pipe closes mid-run: checkpoint, status interrupted, exit 129, inputs unchanged", async () => {
  const runDir = join(root, "run");
  const configFile = join(root, "run.json");
  // progress on: the child logs a training loss on stderr at every step.
  writeFileSync(configFile, JSON.stringify({ ...tinyConfig(root, { maxSteps: 5000, logSteps: 1 }), progress: true }));
  const child = startMlm(["train", "--config", configFile, "--out-dir", runDir]);
  await child.waitFor(/step ([3-9]|\d{2,}): training loss/);
  const inputs = fileHashes(runDir, ["status.json", "metrics.jsonl", "lock.json", "curves.svg"]);
  const kept = Object.fromEntries(
    ["config.json", "tokenizer.json", "inputs.json"].map((name) => [name, inputs[name]] as const),
  );
  // What `2>&1 | head -4` does once head has its lines: the reading end goes away.
  child.process.stderr.destroy();
  child.process.stdout.destroy();
  const exit = await child.exited;
  assert.equal(exit.code, 129);
  const status = await readRunStatus(runDir);
  assert.equal(status?.state, "interrupted");
  assert.ok(status !== null && status.step > 0 && status.step < 5000, `stopped at ${status?.step}`);
  assert.equal(existsSync(join(runDir, "lock.json")), false, "the lock is released");
  const latest = (await listLastCheckpoints(runDir)).at(-1);
  assert.ok(latest !== undefined);
  assert.equal((await loadCheckpoint<object, TrainState>(latest)).state.step, status.step);
  const after = fileHashes(runDir);
  for (const [name, hash] of Object.entries(kept)) assert.equal(after[name], hash, name);
});
