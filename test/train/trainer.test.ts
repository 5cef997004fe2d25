// End-to-end runs of the training loop on a tiny corpus with a tiny model (plain TypeScript
// backend): the loss falls, the run directory holds what later commands read, the same seed gives
// the same losses, and a run killed after a checkpoint resumes to the same validation losses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { listLastCheckpoints, readSafetensors } from "../../src/run/index.js";
import { readMetrics, readScalars } from "../../src/track/index.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { train } from "../../src/train/trainer.js";
import { DEFAULT_CONFIG } from "../../src/config/index.js";
import { tinyConfig, trainUntilKilled } from "./fixtures.js";

test("a tiny run learns and leaves a complete run directory", async () => {
  const dir = tempDir("mlm-train-");
  const config = tinyConfig(dir);
  const summary = await train(config);
  const losses = summary.evaluations.map((e) => e.metrics.loss);
  assert.deepEqual(
    summary.evaluations.map((e) => e.step),
    [0, 40, 80, 120],
  );
  assert.ok(losses[3] < losses[0] - 1, `validation loss should fall clearly: ${losses.join(", ")}`);
  assert.equal(summary.bestValidLoss, Math.min(...losses));
  assert.equal(summary.steps, 120);

  const run = config.outDir!;
  // Tokenizer and config written at the start, loadable by later commands.
  const tok = Tokenizer.load(join(run, "tokenizer.json"));
  assert.equal(tok.tokenToId("[MASK]"), 3);
  const runConfig = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
  assert.equal(runConfig.dModel, 32);
  assert.equal(runConfig.formatVersion, 1);
  const bestConfig = JSON.parse(readFileSync(join(run, "best", "config.json"), "utf8"));
  assert.equal(bestConfig.formatVersion, 1);
  assert.equal(bestConfig.model.dModel, 32);
  // The best checkpoint: safetensors with every parameter, and the state of the best step.
  const weights = readSafetensors(readFileSync(join(run, "best", "model.safetensors")));
  assert.deepEqual(weights.get("embed.weight")!.shape, [tok.vocabSize, 32]);
  assert.ok(weights.has("layers.1.ffn.fc2.weight"));
  const state = JSON.parse(readFileSync(join(run, "best", "train_state.json"), "utf8"));
  assert.equal(state.step, summary.bestStep);
  // best/ is for inference: no optimizer moments; the latest checkpoint, which --resume reads, has them.
  assert.ok(!existsSync(join(run, "best", "optimizer.safetensors")));
  assert.ok(existsSync(join(run, "last-00000120", "optimizer.safetensors")));
  // TensorBoard: every record's CRCs are checked by readScalars; both losses are there.
  const events = readdirSync(run).filter((f) => f.startsWith("events.out.tfevents."));
  assert.equal(events.length, 1);
  const scalars = readScalars(join(run, events[0]));
  const steps = (tag: string) => scalars.filter((s) => s.tag === tag).map((s) => s.step);
  assert.deepEqual(steps("Loss/valid"), [0, 40, 80, 120]);
  assert.deepEqual(steps("Loss/train"), [20, 40, 60, 80, 100, 120]);
  assert.ok(steps("LearningRate").length === 6 && steps("Throughput/tokens_per_sec").length === 6);
  const valid = scalars.filter((s) => s.tag === "Loss/valid").map((s) => s.value);
  valid.forEach((v, i) => assert.ok(Math.abs(v - losses[i]) < 1e-5 * Math.abs(v)));
  // metrics.jsonl carries the same figures.
  const records = readMetrics(join(run, "metrics.jsonl"));
  assert.deepEqual(
    records.filter((r) => r.split === "valid").map((r) => r.loss),
    losses,
  );
  // The latest checkpoint (keepLast 1) is the final step's.
  assert.deepEqual(
    readdirSync(run).filter((f) => f.startsWith("last-")),
    ["last-00000120"],
  );
});

test("the same seed gives the same losses; another seed does not", async () => {
  const dir = tempDir("mlm-train-");
  const run = async (seed: number, out: string) =>
    (await train(tinyConfig(dir, { seed, maxSteps: 40, evalSteps: 20, outDir: join(dir, out) }))).evaluations.map(
      (e) => e.metrics.loss,
    );
  const a = await run(5, "a");
  const b = await run(5, "b");
  const c = await run(6, "c");
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test("a run killed after a checkpoint resumes to the same validation losses", async () => {
  const dir = tempDir("mlm-resume-");
  const overrides = { maxSteps: 300, evalSteps: 10, logSteps: 7, shuffle: true, keepLast: 2 } as const;
  const reference = await train(tinyConfig(dir, { ...overrides, outDir: join(dir, "reference") }));

  // The same run in a child process, killed with SIGKILL once it has written a checkpoint at step >= 30.
  const killedDir = join(dir, "killed");
  const killedAt = await trainUntilKilled(
    tinyConfig(dir, { ...overrides, outDir: killedDir }),
    join(dir, "config.json"),
    30,
  );
  assert.ok(killedAt < 300);
  const latest = (await listLastCheckpoints(killedDir)).at(-1);
  assert.ok(
    latest !== undefined && Number(latest.slice(-8)) >= 20,
    `expected a latest checkpoint at step >= 20, got ${latest}`,
  );

  const resumed = await train(tinyConfig(dir, { ...overrides, outDir: killedDir }), { resume: killedDir });
  const byStep = (s: typeof reference) => s.evaluations.map((e) => [e.step, e.metrics.loss]);
  assert.deepEqual(byStep(resumed), byStep(reference));
  assert.equal(resumed.bestValidLoss, reference.bestValidLoss);
  // metrics.jsonl of the resumed run has each evaluation and each training-loss log once, with the
  // reference's values (training losses are means over 7 steps, across the checkpoint boundary).
  const curve = (run: string, split: string) =>
    readMetrics(join(run, "metrics.jsonl"))
      .filter((r) => r.split === split)
      .map((r) => [r.step, r.loss]);
  assert.deepEqual(curve(killedDir, "valid"), curve(join(dir, "reference"), "valid"));
  assert.deepEqual(curve(killedDir, "train"), curve(join(dir, "reference"), "train"));
});

test("gradient accumulation over 2 batches of 8 trains like batches of 16", async () => {
  const dir = tempDir("mlm-accum-");
  const common = { dropout: 0, maxSteps: 30, evalSteps: 1000, logSteps: 1, evalAtStart: false, keepLast: 0 } as const;
  await train(tinyConfig(dir, { ...common, batchSize: 16, outDir: join(dir, "big") }));
  await train(tinyConfig(dir, { ...common, batchSize: 8, gradAccumSteps: 2, outDir: join(dir, "accum") }));
  const losses = (run: string) =>
    readMetrics(join(dir, run, "metrics.jsonl"))
      .filter((r) => r.split === "train")
      .map((r) => r.loss as number);
  const big = losses("big");
  const accum = losses("accum");
  assert.equal(accum.length, 30);
  // Same sentences, same masks, same token-weighted mean: equal up to float32 summation order.
  for (let i = 0; i < big.length; i++)
    assert.ok(Math.abs(big[i] - accum[i]) < 2e-3, `step ${i + 1}: ${big[i]} vs ${accum[i]}`);
  assert.ok(Math.abs(big[0] - accum[0]) < 1e-5);
});

test("early stopping ends the run after N evaluations without improvement", async () => {
  const dir = tempDir("mlm-early-");
  // A learning rate far too high makes the validation loss stop improving quickly.
  const summary = await train(
    tinyConfig(dir, { learningRate: 0.3, gradClip: 1e6, maxSteps: 400, evalSteps: 5, earlyStopping: 2 }),
  );
  assert.equal(summary.stoppedBy, "early-stopping");
  assert.ok(summary.steps < 400);
  const steps = summary.evaluations.map((e) => e.step);
  const bestIndex = steps.indexOf(summary.bestStep!);
  assert.equal(steps.length - 1 - bestIndex, 2, `two evaluations after the best one: ${steps}`);
});

test("a new run that fails before its first step leaves no run directory behind", async () => {
  const dir = tempDir("mlm-failed-");
  // A mistyped corpus: the error names the bundled corpora; neither runs/ nor runs/a is left.
  const missing = join(dir, "it-en.tsv");
  await assert.rejects(
    train(tinyConfig(dir, { data: missing, outDir: join(dir, "runs", "a") })),
    /it-en\.tsv: file not found \(bundled: .*tatoeba-en\.txt and .*it-en\.sample\.tsv; `mlm download`/,
  );
  assert.ok(!existsSync(join(dir, "runs")));
  // Failing after config.json and tokenizer.json were written (no step fits in the epochs) too.
  await assert.rejects(
    train(tinyConfig(dir, { epochs: 1, gradAccumSteps: 1000, outDir: join(dir, "runs", "b") })),
    /nothing to train/,
  );
  assert.ok(!existsSync(join(dir, "runs")));
  // An existing folder given as the run directory is not removed.
  mkdirSync(join(dir, "mine"));
  await assert.rejects(train(tinyConfig(dir, { data: missing, outDir: join(dir, "mine") })), /file not found/);
  assert.ok(existsSync(join(dir, "mine")));
});

test("the library is silent by default; with progress, the bar counts the epochs the run reaches", async () => {
  const dir = tempDir("mlm-quiet-");
  let err = "";
  const write = process.stderr.write.bind(process.stderr);
  const isTTY = process.stderr.isTTY;
  process.stderr.isTTY = false; // plain lines, as under the test runner, even when run from a terminal
  process.stderr.write = (chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  };
  try {
    // 240 training sentences in batches of 16: 15 steps per epoch, so 20 steps reach epoch 2 of 100.
    const overrides = { maxSteps: 20, evalSteps: 20, keepLast: 0 } as const;
    assert.equal(DEFAULT_CONFIG.progress, false);
    await train({
      ...tinyConfig(dir, { ...overrides, outDir: join(dir, "quiet") }),
      progress: DEFAULT_CONFIG.progress,
    });
    assert.equal(err, "");
    await train(tinyConfig(dir, { ...overrides, outDir: join(dir, "loud"), progress: true }));
  } finally {
    process.stderr.write = write;
    process.stderr.isTTY = isTTY;
  }
  // Plain lines: the train bar's final state once.
  const trainLines = err.split("\n").filter((l) => l.startsWith("train: "));
  assert.equal(trainLines.length, 1, err);
  assert.match(trainLines[0], /^train: 20\/20 \(100\.0%\) .* \| epoch 2\/2 loss /);
  assert.match(err, /step 20: validation loss/);
});

test("train() with a configuration that was not resolved says to call resolveConfig, and writes nothing", async () => {
  const dir = tempDir("mlm-unresolved-");
  const outDir = join(dir, "run");
  await assert.rejects(
    train({ maxSteps: 5, outDir } as unknown as Parameters<typeof train>[0]),
    /^Error: train: the configuration lacks \w+, \w+, \w+, \.\.\. \(\d+ keys\); pass resolveConfig\(\{ \.\.\. \}\)/,
  );
  assert.equal(existsSync(outDir), false);
});
