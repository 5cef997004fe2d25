// Ctrl-C, SIGTERM and SIGHUP in the middle of a WebAssembly run on 2 threads (a child `mlm train`):
// the run finishes its step, saves a latest checkpoint, records "interrupted" and exits with 130,
// 143 or 129, and resuming it gives, step for step, the logged losses of an uninterrupted run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import {
  lastCheckpointName,
  listLastCheckpoints,
  loadCheckpoint,
  readMetricsFile,
  readRunStatus,
} from "../../src/run/index.js";
import type { TrainState } from "../../src/train/train-state.js";
import { train } from "../../src/train/trainer.js";
import { scratchFolder, startMlm } from "../cli/child.js";
import { tinyConfig } from "./fixtures.js";

const root = scratchFolder("mlm-signals-");

const overrides = { backend: "wasm", threads: 2, evalSteps: 10, logSteps: 7, shuffle: true, keepLast: 2 } as const;

/** [step, loss] of every record of a split in a run's metrics.jsonl. */
async function curve(runDir: string, split: string): Promise<[number, unknown][]> {
  return (await readMetricsFile(join(runDir, "metrics.jsonl")))
    .filter((r) => r.split === split)
    .map((r) => [r.step, r.loss]);
}

/** Starts a child run of 5,000 steps and sends it `signal` once it has logged step 21 or later. */
async function interruptedRun(dir: string, name: string, signal: NodeJS.Signals) {
  const runDir = join(dir, name);
  const configFile = join(dir, `${name}.json`);
  // progress on: the child logs its training losses on stderr (plain lines, not a terminal).
  writeFileSync(configFile, JSON.stringify({ ...tinyConfig(dir, { ...overrides, maxSteps: 5000 }), progress: true }));
  const child = startMlm(["train", "--config", configFile, "--out-dir", runDir]);
  await child.waitFor(/step (2[1-9]|[3-9]\d|\d{3,}): training loss/);
  child.kill(signal);
  const exit = await child.exited;
  return { runDir, exit, stderr: child.stderr() };
}

test("SIGINT, SIGTERM and SIGHUP mid-run save a checkpoint that resumes to the losses of an uninterrupted run", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    const { runDir, exit, stderr } = await interruptedRun(dir, signal, signal);
    assert.equal(exit.code, code, stderr);
    const m = stderr.match(
      /mlm train: interrupted by (SIG\w+) at step (\d+); checkpoint saved: (\S+); resume with: mlm train --resume (\S+)\n$/,
    );
    assert.ok(m !== null, stderr.slice(-600));
    const step = Number(m[2]);
    assert.equal(m[1], signal);
    assert.ok(step >= 21 && step < 5000, `stopped at step ${step}`);
    assert.equal(m[3], join(runDir, lastCheckpointName(step)));
    assert.equal(m[4], runDir);
    const status = await readRunStatus(runDir);
    assert.equal(status?.state, "interrupted");
    assert.equal(status?.step, step);
    assert.equal((await loadCheckpoint<object, TrainState>(m[3])).state.step, step);

    // Resumed up to 30 steps later, it logs what an uninterrupted run of as many steps logs.
    const end = step + 30;
    const resumed = await train(tinyConfig(dir, { ...overrides, maxSteps: end, outDir: runDir }), { resume: runDir });
    assert.equal(resumed.stoppedBy, "schedule");
    assert.equal((await readRunStatus(runDir))?.state, "finished");
    const refDir = join(dir, `${signal}-reference`);
    await train(tinyConfig(dir, { ...overrides, maxSteps: end, outDir: refDir }));
    assert.deepEqual(await curve(runDir, "train"), await curve(refDir, "train"), `${signal}: training losses`);
    assert.deepEqual(await curve(runDir, "valid"), await curve(refDir, "valid"), `${signal}: validation losses`);
    const steps = (await curve(runDir, "train")).map(([s]) => s);
    assert.ok(steps[0] < step && steps.at(-1)! > step, `logs on both sides of step ${step}: ${steps.join(" ")}`);
  }
});

test("a second Ctrl-C exits at once with 130 and leaves every checkpoint whole", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  const runDir = join(dir, "run");
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify({ ...tinyConfig(dir, { ...overrides, maxSteps: 5000 }), progress: true }));
  const child = startMlm(["train", "--config", configFile, "--out-dir", runDir]);
  await child.waitFor(/step (2[1-9]|[3-9]\d|\d{3,}): training loss/);
  child.kill("SIGINT");
  await child.waitFor(/Ctrl-C: finishing this step, then saving a checkpoint \(Ctrl-C again to quit at once\)/);
  child.kill("SIGINT");
  const exit = await child.exited;
  assert.equal(exit.code, 130, child.stderr());
  // Whether the second signal came during the save (leaving a temporary directory) or after it, the
  // checkpoints load and the run resumes from its latest one.
  const lasts = await listLastCheckpoints(runDir);
  assert.ok(lasts.length > 0, readdirSync(runDir).join(" "));
  for (const dir of [join(runDir, "best"), ...lasts]) await loadCheckpoint(dir);
  const latest = await loadCheckpoint<object, TrainState>(lasts.at(-1)!);
  assert.equal(lastCheckpointName(latest.state.step), basename(lasts.at(-1)!));
  const resumed = await train(tinyConfig(dir, { ...overrides, maxSteps: latest.state.step + 5, outDir: runDir }), {
    resume: runDir,
  });
  assert.equal(resumed.steps, latest.state.step + 5);
});
