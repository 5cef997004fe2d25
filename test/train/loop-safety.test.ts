// What the training loop does besides training (tiny runs): the status it records, a run stopped
// during an evaluation resuming exactly, --save-steps, a non-finite gradient stopping the run with
// the step and tensor, the divergence warning, and the resume of a complete run doing nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listLastCheckpoints, loadCheckpoint, readMetricsFile, readRunStatus } from "../../src/run/index.js";
import { NonFiniteError } from "../../src/train/health.js";
import { train } from "../../src/train/trainer.js";
import { scratchFolder, startMlm } from "../cli/child.js";
import { tinyConfig } from "./fixtures.js";

const root = scratchFolder("mlm-loop-");

/** [step, loss] of every record of a split in a run's metrics.jsonl. */
async function curve(runDir: string, split: string): Promise<[number, unknown][]> {
  return (await readMetricsFile(join(runDir, "metrics.jsonl")))
    .filter((r) => r.split === split)
    .map((r) => [r.step, r.loss]);
}

/** Runs `mlm ARGS` in a child process; returns the exit code and what it wrote. */
async function mlm(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = startMlm(argv);
  const { code } = await child.exited;
  return { code, out: child.stdout(), err: child.stderr() };
}

/** Every file under `dir` with its size and SHA-256, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path] = `${statSync(path).size} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
  }
  return out;
}

test("a run stopped during an evaluation saves its step without it, records 'interrupted', and resumes exactly", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  const common = { maxSteps: 60, evalSteps: 20, logSteps: 10, shuffle: true, keepLast: 3 } as const;
  const refDir = join(dir, "reference");
  const reference = await train(tinyConfig(dir, { ...common, outDir: refDir }));
  assert.equal((await readRunStatus(refDir))?.state, "finished");

  // Stopped at the evaluation at step 0 (--eval-at-start), then at the one at step 40.
  for (const [name, trigger, step] of [
    ["at-start", /^model: /, 0],
    ["mid-run", /^step 40: training loss/, 40],
  ] as const) {
    const runDir = join(dir, name);
    const controller = new AbortController();
    let statusWhileTraining: string | undefined;
    const summary = await train(tinyConfig(dir, { ...common, outDir: runDir }), {
      signal: controller.signal,
      log: (line) => {
        if (!trigger.test(line)) return;
        statusWhileTraining = JSON.parse(readFileSync(join(runDir, "status.json"), "utf8")).state;
        controller.abort(new Error("stop")); // the evaluation that follows sees it before its first batch
      },
    });
    assert.equal(statusWhileTraining, "running");
    assert.equal(summary.stoppedBy, "signal");
    assert.equal(summary.steps, step);
    assert.equal(summary.latestCheckpoint, join(runDir, `last-${String(step).padStart(8, "0")}`));
    const status = await readRunStatus(runDir);
    assert.equal(status?.state, "interrupted");
    assert.equal(status?.step, step);
    assert.ok(!(await curve(runDir, "valid")).some(([s]) => s === step), "the cut evaluation is not recorded");

    const resumed = await train(tinyConfig(dir, { ...common, outDir: runDir }), { resume: runDir });
    assert.deepEqual(resumed.evaluations, reference.evaluations, name);
    assert.deepEqual(await curve(runDir, "valid"), await curve(refDir, "valid"), name);
    assert.deepEqual(await curve(runDir, "train"), await curve(refDir, "train"), name);
    assert.equal((await readRunStatus(runDir))?.state, "finished");
  }
});

test("--save-steps writes the latest checkpoint every N steps, evaluations aside; a complete run resumes to nothing", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  const runDir = join(dir, "run");
  const warnings: string[] = [];
  const config = tinyConfig(dir, {
    maxSteps: 30,
    saveSteps: 7,
    evalSteps: 1000,
    evalAtStart: false,
    keepLast: 10,
    outDir: runDir,
  });
  const summary = await train(config, { warn: (line) => warnings.push(line) });
  assert.deepEqual(
    (await listLastCheckpoints(runDir)).map((p) => p.slice(-13)),
    ["last-00000007", "last-00000014", "last-00000021", "last-00000028", "last-00000030"],
  );
  assert.deepEqual(
    summary.evaluations.map((e) => e.step),
    [30],
  );
  assert.deepEqual(warnings, [], "a healthy run gives no divergence warning");
  const saved = await loadCheckpoint<object, { step: number }>(join(runDir, "last-00000014"));
  assert.equal(saved.state.step, 14);

  // Resuming the finished run (also with a lower --max-steps) runs nothing and writes nothing.
  const before = snapshot(runDir);
  const again = await train(config, { resume: runDir });
  assert.equal(again.stoppedBy, "complete");
  assert.equal(again.steps, 30);
  const cli = await mlm(["train", "--resume", runDir, "--max-steps", "20"]);
  assert.equal(cli.code, 0, cli.err);
  assert.match(
    cli.out,
    /^already complete: .*run is at step 30 \(best validation loss \d\.\d{4} at step 30\); nothing was run or written/,
  );
  assert.doesNotMatch(cli.out + cli.err, /NaN/);
  // The hint names the setting that ends the run: --max-steps here, --epochs once that is raised past them.
  assert.match(cli.out, /\(raise --max-steps to train further\)/);
  const epochs = await mlm(["train", "--resume", runDir, "--max-steps", "100000", "--epochs", "1"]);
  assert.equal(epochs.code, 0, epochs.err);
  assert.match(epochs.out, /\(raise --epochs \(1 epochs make \d+ steps\) to train further\)/);
  assert.deepEqual(snapshot(runDir), before);
});

test("a non-finite gradient stops the run naming the step and the tensor; the last good checkpoint is kept", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  const runDir = join(dir, "run");
  // A learning rate of 1e9 (float32 kernels): step 1's update sends the weights to ~1e9 and step 2's
  // layer-norm gradients to NaN.
  const config = tinyConfig(dir, { learningRate: 1e9, backend: "wasm", threads: 1, evalSteps: 10, outDir: runDir });
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify({ ...config, progress: false }));
  const { code, err } = await mlm(["train", "--config", configFile]);
  assert.equal(code, 1);
  const message = err.match(/^mlm train: (.*)\n$/)?.[1];
  assert.match(
    message ?? err,
    new RegExp(
      /^step 2: the gradient of head\.dense\.weight holds NaN \(index \d+ of \[32 x 32\]\), /.source +
        /the first tensor backpropagation computes that went bad \(the loss was .*\); /.source +
        /the run stopped and its latest checkpoint, .*last-00000000, is kept$/.source,
    ),
  );
  const status = await readRunStatus(runDir);
  assert.equal(status?.state, "failed");
  assert.equal(status?.message, message);
  // The checkpoint of step 0 is the only one, and its weights are finite.
  assert.deepEqual(
    (await listLastCheckpoints(runDir)).map((p) => p.slice(-13)),
    ["last-00000000"],
  );
  for (const t of (await loadCheckpoint(join(runDir, "last-00000000"))).tensors)
    assert.ok(
      t.data.every((v) => Number.isFinite(v)),
      t.name,
    );
  // The library throws the same error, as a NonFiniteError.
  await assert.rejects(train({ ...config, outDir: join(dir, "library") }), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.equal(e.step, 2);
    assert.equal(e.tensor, "gradient of head.dense.weight");
    return true;
  });
});

test("a training loss running away gives one warning, on stderr and in metrics.jsonl", async () => {
  const dir = mkdtempSync(join(root, "test-"));
  const runDir = join(dir, "run");
  const warnings: string[] = [];
  const summary = await train(tinyConfig(dir, { learningRate: 10, maxSteps: 60, outDir: runDir }), {
    warn: (line) => warnings.push(line),
  });
  assert.equal(summary.stoppedBy, "schedule");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /^warning: step \d+: the smoothed training loss \S+ is above 1\.5 x the first step's loss \S+: the run is diverging/,
  );
  const recorded = (await readMetricsFile(join(runDir, "metrics.jsonl"))).filter((r) => r.warning !== undefined);
  assert.equal(recorded.length, 1);
  assert.equal(recorded[0].warning, "divergence");
  assert.equal(`warning: ${recorded[0].message}`, warnings[0]);
});
