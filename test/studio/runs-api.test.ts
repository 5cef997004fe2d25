// The studio's listing of runs: a run recorded as running whose trainer is gone (killed, crashed) is
// shown as stopped, one whose trainer lives (or lives on another host, which cannot be checked) as running.
// A run's curves as columns, up to its last complete line. Stop never signals a process that a stale
// lock names when it is not an mlm trainer.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeCurveColumns, formatMetricsLine, MetricsLog, writeRunStatus } from "../../src/run/index.js";
import type { HttpError } from "../../src/studio/http.js";
import { RunsFolder } from "../../src/studio/runs-api.js";
import { stopTrainerOf } from "../../src/studio/stop-run.js";
import { tempDir } from "../temp-dir.js";

test("a run recorded as running shows as stopped once no live trainer holds its lock", async () => {
  const root = tempDir("mlm-studio-runs-");
  const lock = (pid: number, host: string): string => JSON.stringify({ pid, host, started: 1 });
  const locks: Record<string, string | null> = {
    "no-lock": null,
    "dead-pid": lock(2 ** 22 + 12345, hostname()), // above Linux's pid_max: never a live process
    "live-pid": lock(process.pid, hostname()),
    "other-host": lock(1, "some-other-host"),
  };
  for (const [name, text] of Object.entries(locks)) {
    const log = await MetricsLog.open(join(root, name, "metrics.jsonl"));
    log.log(1, { split: "train", loss: 5 }, 100);
    await log.close();
    await writeRunStatus(join(root, name), { state: "running", step: 1 });
    if (text !== null) writeFileSync(join(root, name, "lock.json"), text);
  }
  const listed = await new RunsFolder(root).list();
  assert.deepEqual(Object.fromEntries(listed.map((r) => [r.id, r.status])), {
    "dead-pid": "stopped",
    "live-pid": "running",
    "no-lock": "stopped",
    "other-host": "running",
  });
  assert.match(listed.find((r) => r.id === "no-lock")?.message ?? "", /no trainer holds the run .*mlm train --resume/);
});

test("a run deleted between reading the folder and reading the run is left out of the listing", async () => {
  const root = tempDir("mlm-studio-gone-");
  for (const name of ["kept", "gone"]) {
    const log = await MetricsLog.open(join(root, name, "metrics.jsonl"));
    log.log(1, { split: "train", loss: 5 }, 100);
    await log.close();
  }
  const runs = new RunsFolder(root);
  const ids = await runs.ids();
  assert.deepEqual(ids, ["gone", "kept"]);
  rmSync(join(root, "gone"), { recursive: true });
  runs.ids = () => Promise.resolve(ids); // the folder as it was read just before the deletion
  assert.deepEqual(
    (await runs.list()).map((r) => r.id),
    ["kept"],
  );
});

test("a run's curves come as columns of its complete lines, and follow the file as it grows", async () => {
  const root = tempDir("mlm-studio-curves-");
  const path = join(root, "live", "metrics.jsonl");
  const first = formatMetricsLine({ step: 1, split: "train", loss: 5, time: 100 });
  const partial = '{"step":2,"split":"tr';
  mkdirSync(join(root, "live"));
  writeFileSync(join(root, "live", "config.json"), "{}");
  const runs = new RunsFolder(root);
  const empty = decodeCurveColumns(await runs.curves("live"));
  assert.deepEqual([empty.offset, empty.train.step.length, empty.valid.step.length], [0, 0, 0]);
  writeFileSync(path, first + partial);
  const one = decodeCurveColumns(await runs.curves("live"));
  assert.equal(one.offset, Buffer.byteLength(first), "a line being written waits for the stream");
  assert.deepEqual([...one.train.step], [1]);
  appendFileSync(path, 'ain","loss":4,"time":101}\n');
  const two = decodeCurveColumns(await runs.curves("live"));
  assert.deepEqual([...two.train.figures.loss], [5, 4]);
  assert.equal(two.offset, statSync(path).size);
});

test("Stop never signals a process of lock.json that is not an mlm trainer (a pid reused by another program)", async () => {
  const root = tempDir("mlm-studio-stale-lock-");
  const other = spawn(process.execPath, ["-e", "setInterval(() => undefined, 1000)"], { stdio: "ignore" });
  try {
    const dir = join(root, "stale");
    const log = await MetricsLog.open(join(dir, "metrics.jsonl"));
    log.log(1, { split: "train", loss: 5 }, 100);
    await log.close();
    await writeRunStatus(dir, { state: "running", step: 1 });
    writeFileSync(join(dir, "lock.json"), JSON.stringify({ pid: other.pid, host: hostname(), started: 1 }));
    await assert.rejects(stopTrainerOf(dir), (e: HttpError) => {
      assert.equal(e.status, 409);
      assert.equal(e.message, `process ${other.pid} of lock.json is not an mlm train or finetune`);
      return true;
    });
    await new Promise((r) => setTimeout(r, 200)); // a signal sent would have ended it by now
    assert.equal(other.exitCode, null);
    assert.equal(other.signalCode, null);
  } finally {
    other.kill("SIGKILL");
  }
});
