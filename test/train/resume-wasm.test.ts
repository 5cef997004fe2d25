// Resuming on the WebAssembly backend: a run (2 threads) killed after a checkpoint resumes to the
// validation losses and metric curves of an uninterrupted run, with 2 threads and with 1 (every
// kernel's result has the same bits whatever the thread count).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { readMetrics } from "../../src/track/index.js";
import { train } from "../../src/train/trainer.js";
import { listLastCheckpoints } from "../../src/run/index.js";
import { tinyConfig, trainUntilKilled } from "./fixtures.js";

test("wasm backend: a run killed after a checkpoint resumes to the same losses, with 2 threads or 1", async () => {
  const dir = tempDir("mlm-resume-wasm-");
  const overrides = {
    backend: "wasm",
    threads: 2,
    maxSteps: 150,
    evalSteps: 10,
    logSteps: 7,
    shuffle: true,
    keepLast: 2,
  } as const;
  const refDir = join(dir, "reference");
  const reference = await train(tinyConfig(dir, { ...overrides, outDir: refDir }));

  const killedDir = join(dir, "killed");
  const killedAt = await trainUntilKilled(
    tinyConfig(dir, { ...overrides, outDir: killedDir }),
    join(dir, "config.json"),
    30,
  );
  assert.ok(killedAt < 150);
  const latest = (await listLastCheckpoints(killedDir)).at(-1);
  assert.ok(
    latest !== undefined && Number(latest.slice(-8)) >= 20,
    `expected a latest checkpoint at step >= 20, got ${latest}`,
  );
  const oneThreadDir = join(dir, "killed-1-thread");
  cpSync(killedDir, oneThreadDir, { recursive: true });

  const byStep = (s: typeof reference) => s.evaluations.map((e) => [e.step, e.metrics.loss]);
  const curve = (run: string, split: string) =>
    readMetrics(join(run, "metrics.jsonl"))
      .filter((r) => r.split === split)
      .map((r) => [r.step, r.loss]);
  for (const [threads, out] of [
    [2, killedDir],
    [1, oneThreadDir],
  ] as const) {
    const resumed = await train(tinyConfig(dir, { ...overrides, threads, outDir: out }), { resume: out });
    assert.deepEqual(byStep(resumed), byStep(reference), `${threads} thread(s)`);
    assert.equal(resumed.bestValidLoss, reference.bestValidLoss);
    assert.deepEqual(curve(out, "valid"), curve(refDir, "valid"), `${threads} thread(s): valid curve`);
    assert.deepEqual(curve(out, "train"), curve(refDir, "train"), `${threads} thread(s): train curve`);
  }
});
