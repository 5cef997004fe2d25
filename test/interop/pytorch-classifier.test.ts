// A fine-tuned classifier carried to PyTorch and back: a tiny masked-LM run, a classifier fine-tuned
// from it (mean pooling, dropout, a linear decay that ends at its last step), exported with
// `--format pytorch`. mlm_torch.py scores the exported validation split as mlm-ts's last evaluation
// did (same split, same labels, same metrics), trains it with two DDP processes past the decay's end
// (--max-steps), and `mlm import` brings it back: every metrics record kept, PyTorch's evaluation in
// mlm-ts's format, `mlm classify` works on it, its logits equal PyTorch's to float rounding, and
// `mlm finetune --resume` goes on from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/index.js";
import { batchOf } from "../../src/data/index.js";
import { exportPytorch, npyInt32 } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { readMetricsFile } from "../../src/run/index.js";
import { finetune, FINETUNE_DEFAULTS } from "../../src/train/finetune.js";
import { main } from "../../src/cli/main.js";
import { captureOutput } from "./capture.js";
import {
  paddedBatch,
  python,
  readNpyFloat32,
  relativeToRange,
  torchrun,
  trainTinyInteropRun,
} from "./tiny-interop-run.js";

const TORCH = ["numpy", "torch"] as const;
const SENTENCES = ["the red cat sat on the mat.", "a blue dog", "the blue fish sat on the log.", "red"];

/** 40 labelled sentences of the tiny corpus's words: "warm" for a red animal, "cold" for a blue one. */
function labelledFile(dir: string): string {
  const animals = ["cat", "dog", "fish", "cow", "bird"];
  const rows = ["sentence\tlabel"];
  for (const a of animals)
    for (const place of ["mat", "log"]) rows.push(`the red ${a} sat on the ${place}.\twarm`, `a red ${a}\twarm`);
  for (const a of animals)
    for (const place of ["mat", "log"]) rows.push(`the blue ${a} sat on the ${place}.\tcold`, `a blue ${a}\tcold`);
  const path = join(dir, "colours.tsv");
  writeFileSync(path, rows.join("\n") + "\n");
  return path;
}

const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

test("a fine-tuned classifier trains in PyTorch with two DDP processes and comes back for mlm classify", async (t) => {
  const { dir, runDir: preDir } = await trainTinyInteropRun(20);
  const runDir = join(dir, "classifier");
  const config = resolveConfig({
    ...FINETUNE_DEFAULTS,
    data: labelledFile(dir),
    batchSize: 8,
    learningRate: 1e-3,
    lrSchedule: "linear",
    warmupSteps: 0,
    maxSteps: 8,
    evalSteps: 4,
    logSteps: 2,
    dropout: 0.1,
    backend: "ts",
    progress: false,
    outDir: runDir,
  });
  await finetune({ config, from: preDir, pooling: "mean" }, { log: () => {} });
  const original = await readMetricsFile(join(runDir, "metrics.jsonl"));
  const lastEval = original.filter((r) => r.split === "valid").at(-1)!;
  assert.equal(lastEval.step, 8);

  // The export: the classifier's tensors, its task, each sentence's class.
  const exported = join(dir, "torch");
  await exportPytorch(runDir, exported, "test");
  const cfg = readJson(join(exported, "config.json")) as {
    task: string;
    classifier: { id2label: string[]; pooling: string; labelColumn: string };
    train: { totalSteps: number };
  };
  assert.equal(cfg.task, "text-classification");
  assert.deepEqual(cfg.classifier.id2label, ["cold", "warm"]);
  assert.equal(cfg.classifier.pooling, "mean");
  assert.equal(cfg.train.totalSteps, 8);
  for (const f of ["optimizer.safetensors", "data/train-00000.classes.npy", "data/valid-00000.classes.npy"])
    assert.ok(existsSync(join(exported, f)), f);
  const script = join(exported, "mlm_torch.py");

  // PyTorch scores the exported validation split as mlm-ts's evaluation at step 8 did.
  const before = JSON.parse(python([script, "eval", exported], TORCH)) as Record<string, number>;
  const { step: _s, split: _p, time: _t, ...ours } = lastEval;
  assert.deepEqual(Object.keys(before).sort(), Object.keys(ours).sort());
  for (const [key, value] of Object.entries(ours))
    assert.ok(Math.abs(before[key] - (value as number)) <= 1e-5 * Math.max(1, Math.abs(value as number)), key);
  t.diagnostic(`step 8: mlm-ts loss ${ours.loss}, PyTorch ${before.loss}; accuracy ${ours.accuracy}`);

  // Two DDP processes, past the decay's end with --max-steps.
  const trained = join(dir, "trained");
  const ddp = await torchrun(dir, [
    script,
    "train",
    exported,
    "--out",
    trained,
    "--max-steps",
    "12",
    "--log-every",
    "1",
  ]);
  for (const line of ddp.trim().split("\n")) t.diagnostic(line);
  assert.match(ddp, /step 12: loss [\d.]+ lr .* \(2 processes\)/);
  const state = readJson(join(trained, "trainer_state.json")) as {
    step: number;
    world_size: number;
    valid_loss: number;
    valid_metrics: Record<string, number>;
  };
  assert.equal(state.step, 12);
  assert.equal(state.world_size, 2);
  const written = await readMetricsFile(join(trained, "metrics.jsonl"));
  assert.deepEqual(written.slice(0, original.length), original, "the run's records come first, unchanged");
  const torchRecords = written.slice(original.length);
  assert.deepEqual(
    torchRecords.map((r) => `${r.split} ${r.step}`),
    ["train 9", "train 10", "train 11", "train 12", "valid 12"],
  );
  const torchValid = torchRecords.at(-1)!;
  assert.deepEqual(Object.keys(torchValid).sort(), Object.keys(lastEval).sort(), "mlm-ts's evaluation record");
  assert.equal(torchValid.loss, state.valid_loss);

  // Back in mlm-ts: every record, the evaluation in the history, mlm classify, PyTorch's logits.
  const imported = join(dir, "imported");
  const back = await captureOutput(() => main(["import", trained, "--out", imported]));
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(await readMetricsFile(join(imported, "metrics.jsonl")), written);
  const runConfig = readJson(join(imported, "config.json")) as { task: string; classifier: { labelColumn: string } };
  assert.equal(runConfig.task, "text-classification");
  assert.equal(runConfig.classifier.labelColumn, "label");
  const history = (readJson(join(imported, "last-00000012", "train_state.json")) as { validHistory: object[] })
    .validHistory;
  assert.deepEqual(history.at(-1), { step: 12, ...state.valid_metrics });

  const classified = await captureOutput(() =>
    main(["classify", ...SENTENCES, "--model", imported, "--json", "--backend", "ts"]),
  );
  assert.equal(classified.code, 0, classified.stderr);
  assert.match(classified.stdout, /"label": "(warm|cold)"/);

  const loaded = await loadModel(imported, { task: "text-classification", maxBatch: SENTENCES.length });
  try {
    const batch = paddedBatch(loaded.tokenizer, SENTENCES);
    const shape = [SENTENCES.length, batch.L];
    writeFileSync(join(dir, "ids.npy"), Buffer.concat(npyInt32(batch.ids, shape)));
    writeFileSync(join(dir, "mask.npy"), Buffer.concat(npyInt32(batch.mask, shape)));
    writeFileSync(join(dir, "labels.npy"), Buffer.concat(npyInt32(new Int32Array(SENTENCES.length))));
    const npy = ["ids", "mask", "labels"].map((n) => join(dir, `${n}.npy`));
    python([script, "classify", trained, ...npy, join(dir, "logits.npy")], TORCH);
    const torch = readNpyFloat32(join(dir, "logits.npy"));
    assert.deepEqual(torch.shape, [SENTENCES.length, 2]);
    const logits = loaded.model.logits(batchOf(batch.encoded.map((ids) => ({ ids }))));
    const error = relativeToRange(torch.data, logits);
    t.diagnostic(`imported classifier's logits: largest difference / range ${error.toExponential(2)}`);
    assert.ok(error < 1e-5, `logits differ by ${error} of their range`);
  } finally {
    loaded.dispose();
  }

  // mlm-ts fine-tunes on from PyTorch's step.
  const resumed = await captureOutput(() =>
    main(["finetune", "--resume", imported, "--max-steps", "14", "--no-progress"]),
  );
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((readJson(join(imported, "last-00000014", "train_state.json")) as { step: number }).step, 14);
});
