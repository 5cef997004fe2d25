// PyTorch continuing a run whose linear decay has ended, and the run's history across the round trip:
// a tiny run trained to the end of its linear schedule is exported; mlm_torch.py refuses `--steps`
// past the decay's end (naming --max-steps, exit 2, nothing written), `--max-steps` trains on with the
// decay stretched (weights change, learning rates above 0 logged in metrics.jsonl's format), and
// `mlm import` keeps every record of the original metrics.jsonl and its TensorBoard files, then
// PyTorch's records, also in a new event file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exportPytorch } from "../../src/interop/index.js";
import { main } from "../../src/cli/main.js";
import { readMetricsFile, type MetricsRecord } from "../../src/run/index.js";
import { readScalars } from "../../src/track/index.js";
import { captureOutput } from "./capture.js";
import { PYTHON, python, trainTinyInteropRun } from "./tiny-interop-run.js";

const TORCH = ["numpy", "torch"] as const;
const eventFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith("events.out.tfevents."));

test("PyTorch continues a finished linear decay only with --max-steps, and the round trip keeps every metrics record", async (t) => {
  const { dir, runDir } = await trainTinyInteropRun(20, { lrSchedule: "linear", evalSteps: 10, logSteps: 5 });
  const original = await readMetricsFile(join(runDir, "metrics.jsonl"));
  assert.ok(original.some((r) => r.split === "train") && original.some((r) => r.split === "valid"));
  const originalEvents = eventFiles(runDir);
  assert.ok(originalEvents.length >= 1);

  const exported = join(dir, "torch");
  await exportPytorch(runDir, exported, "test");
  const cfg = JSON.parse(readFileSync(join(exported, "config.json"), "utf8")) as { train: { totalSteps: number } };
  assert.equal(cfg.train.totalSteps, 20, "the schedule ends where the run stopped");
  const script = join(exported, "mlm_torch.py");

  // --steps past the end of the decay: refused, naming --max-steps, nothing written.
  const refusedOut = join(dir, "refused");
  let refusal: { status: number; stderr: string } | null = null;
  try {
    execFileSync(PYTHON, [script, "train", exported, "--out", refusedOut, "--steps", "3"], { stdio: "pipe" });
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    refusal = { status: e.status, stderr: e.stderr.toString() };
  }
  assert.ok(refusal !== null, "--steps past the decay's end must be refused");
  assert.equal(refusal.status, 2);
  assert.match(refusal.stderr, /linear learning-rate schedule reaches 0 at step 20 .* give --max-steps 23/);
  assert.equal(refusal.stderr.trim().split("\n").length, 1, refusal.stderr);
  assert.ok(!existsSync(refusedOut));

  // --max-steps 23: three steps at a stretched decay.
  const trained = join(dir, "trained");
  const out = python([script, "train", exported, "--out", trained, "--max-steps", "23", "--log-every", "1"], TORCH);
  t.diagnostic(out.trim());
  const state = JSON.parse(readFileSync(join(trained, "trainer_state.json"), "utf8")) as Record<string, unknown>;
  assert.equal(state.step, 23);
  const written = await readMetricsFile(join(trained, "metrics.jsonl"));
  assert.equal(state.history_records, original.length);
  assert.deepEqual(written.slice(0, original.length), original, "the run's records come first, unchanged");
  const torchRecords = written.slice(original.length);
  const train = torchRecords.filter((r) => r.split === "train");
  assert.deepEqual(
    train.map((r) => r.step),
    [21, 22, 23],
  );
  // The stretched decay, lr = peak (1 - step / 23) (no warmup): above 0 again, reaching 0 at step 23.
  const peak = (JSON.parse(readFileSync(join(exported, "config.json"), "utf8")) as { train: { learningRate: number } })
    .train.learningRate;
  train.forEach((r) => assert.ok(Math.abs((r.lr as number) - peak * (1 - r.step / 23)) < 1e-12, `lr at ${r.step}`));
  assert.ok((train[0].lr as number) > 0);
  for (const r of train)
    for (const k of ["loss", "gradNorm", "tokensPerSec", "epoch", "time"]) assert.equal(typeof r[k], "number", k);
  const valid = torchRecords.filter((r) => r.split === "valid");
  assert.equal(valid.length, 1);
  assert.equal(valid[0].step, 23);
  assert.equal(valid[0].loss, state.valid_loss);
  const trainedCfg = JSON.parse(readFileSync(join(trained, "config.json"), "utf8")) as {
    train: { totalSteps: number };
  };
  assert.equal(trainedCfg.train.totalSteps, 23);

  // The weights changed.
  const before = readFileSync(join(exported, "model.safetensors"));
  const after = readFileSync(join(trained, "model.safetensors"));
  assert.equal(before.length, after.length);
  assert.ok(!before.equals(after), "three steps at a learning rate above 0 change the weights");

  // Imported: every record, the original event files byte for byte, and PyTorch's in a new one.
  const imported = join(dir, "imported");
  const { code, stderr } = await captureOutput(() => main(["import", trained, "--out", imported]));
  assert.equal(code, 0, stderr);
  const kept: MetricsRecord[] = await readMetricsFile(join(imported, "metrics.jsonl"));
  assert.deepEqual(kept, written);
  const events = eventFiles(imported);
  for (const name of originalEvents)
    assert.ok(readFileSync(join(imported, name)).equals(readFileSync(join(runDir, name))), name);
  const added = events.filter((n) => !originalEvents.includes(n));
  assert.equal(added.length, 1, events.join(" "));
  const scalars = readScalars(join(imported, added[0]));
  const trainLoss = scalars.filter((s) => s.tag === "Loss/train");
  assert.deepEqual(
    trainLoss.map((s) => s.step),
    [21, 22, 23],
  );
  assert.ok(Math.abs(trainLoss[0].value - (train[0].loss as number)) < 1e-6);
  assert.ok(scalars.some((s) => s.tag === "Loss/valid" && s.step === 23));
});
