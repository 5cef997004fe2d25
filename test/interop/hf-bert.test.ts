// `mlm export --format hf` of a run of the bert recipe, read by an independent BertForMaskedLM written
// in PyTorch after transformers' modeling_bert.py (modeling_bert.py beside this file; transformers
// itself is not installed): its strict name check passes and its logits equal mlm-ts's to 1e-5 of
// their range on a padded batch. A classifier fine-tuned from it (`mlm finetune`, BERT's head by
// default) is classified by `mlm classify` and exported as BertForSequenceClassification, whose
// logits equal mlm-ts's the same way; `--format pytorch` refuses it in one line. Other architectures,
// the tutorial's head and mean pooling are refused, naming what is not BERT's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RECIPES } from "../../src/config/recipes.js";
import { projectRoot } from "../../src/data/index.js";
import { main } from "../../src/cli/main.js";
import { batchOf } from "../../src/data/index.js";
import { exportPytorch } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { captureOutput } from "./capture.js";
import { writeWetDryLabels } from "./serving-exports.js";
import {
  logitsError,
  paddedBatch,
  PARITY_SENTENCES,
  type PaddedBatch,
  python,
  relativeToRange,
  trainTinyInteropRun,
} from "./tiny-interop-run.js";

const BERT = join(projectRoot(), "test", "interop", "modeling_bert.py");

// At the top level: the run's temporary folder lasts until the end of the file.
const bertRun = await trainTinyInteropRun(40, RECIPES.bert);

/** The logits of the padded batch from modeling_bert.py's reading of the exported folder. */
function bertLogits(folder: string, batch: PaddedBatch): { shape: number[]; logits: number[] } {
  const rows = (a: Int32Array): number[][] =>
    batch.encoded.map((_, b) => Array.from(a.subarray(b * batch.L, (b + 1) * batch.L)));
  const json = JSON.stringify({ ids: rows(batch.ids), mask: rows(batch.mask) });
  return JSON.parse(python([BERT, folder, json], ["numpy", "torch"])) as { shape: number[]; logits: number[] };
}

/** Runs `mlm ARGS` in-process; fails the test on a non-zero exit, with its stderr. */
async function mlm(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await captureOutput(() => main(args));
  assert.equal(code, 0, `mlm ${args.join(" ")}: ${stderr}`);
  return stdout;
}

/** Fine-tunes a classifier from the bert run into `<dir>/<name>` (the tiny corpus's wet/dry labels). */
async function fineTuned(name: string, steps: number, flags: string[] = []): Promise<string> {
  const out = join(bertRun.dir, name);
  const labelled = writeWetDryLabels(bertRun.dir);
  await mlm(
    [
      "finetune",
      labelled,
      "--from",
      bertRun.runDir,
      "--out-dir",
      out,
      "--max-steps",
      String(steps),
      "--eval-steps",
      "8",
    ].concat(["--batch-size", "8", "--learning-rate", "1e-3", "--backend", "ts", "--no-progress", ...flags]),
  );
  return out;
}

test("mlm export --format hf: BertForMaskedLM's names and config, the same logits to 1e-5", async (t) => {
  const { dir, runDir } = bertRun;
  const out = join(dir, "hf");
  const { code, stderr } = await captureOutput(() => main(["export", runDir, "--format", "hf", "--out", out]));
  assert.equal(code, 0, stderr);
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.model_type, "bert");
  assert.equal(config.hidden_act, "gelu_new", "mlm-ts's GELU is the tanh form");
  assert.equal(config.tie_word_embeddings, true);

  const loaded = await loadModel(runDir);
  try {
    const V = loaded.modelConfig.vocabSize;
    const batch = paddedBatch(loaded.tokenizer, PARITY_SENTENCES);
    const result = bertLogits(out, batch);
    assert.deepEqual(result.shape, [batch.encoded.length, batch.L, V]);
    const { error, count } = logitsError(loaded.model, batch, Float32Array.from(result.logits), V);
    t.diagnostic(`BertForMaskedLM logits: largest difference / range ${error.toExponential(2)} over ${count} logits`);
    assert.ok(error <= 1e-5, `BertForMaskedLM's logits differ from mlm-ts's by ${error} of their range`);
  } finally {
    loaded.dispose();
  }
});

test("a classifier fine-tuned from a bert-recipe run: BERT's head, mlm classify, BertForSequenceClassification's logits to 1e-5", async (t) => {
  const runDir = await fineTuned("bert-classifier", 16);
  const record = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as {
    classifier: Record<string, unknown>;
  };
  assert.equal(record.classifier.head, "bert", "BERT's head is the default for a run of BERT's architecture");
  const best = JSON.parse(readFileSync(join(runDir, "best", "config.json"), "utf8")) as {
    classifier: Record<string, unknown>;
  };
  assert.equal(best.classifier.head, "bert");

  const classified = JSON.parse(
    await mlm(["classify", "the red cat sat on the pond.", "--model", runDir, "--json", "--top-k", "2"]),
  ) as { label: string; score: number }[] | { label: string; score: number }[][];
  const labels = (Array.isArray(classified[0]) ? classified[0] : classified) as { label: string; score: number }[];
  assert.deepEqual(labels.map((l) => l.label).sort(), ["dry", "wet"]);
  assert.ok(Math.abs(labels[0].score + labels[1].score - 1) < 1e-6);

  const out = join(bertRun.dir, "hf-classifier");
  await mlm(["export", runDir, "--format", "hf", "--out", out]);
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(config.architectures, ["BertForSequenceClassification"]);
  assert.equal(config.model_type, "bert");
  assert.equal(config.num_labels, 2);
  assert.deepEqual(config.id2label, { "0": "dry", "1": "wet" });
  assert.deepEqual(config.label2id, { dry: 0, wet: 1 });

  const loaded = await loadModel(runDir, { task: "text-classification" });
  try {
    const batch = paddedBatch(loaded.tokenizer, PARITY_SENTENCES);
    const result = bertLogits(out, batch);
    assert.deepEqual(result.shape, [batch.encoded.length, 2]);
    const ours = batch.encoded.flatMap((ids) => Array.from(loaded.model.logits(batchOf([{ ids }]))));
    const error = relativeToRange(result.logits, ours);
    t.diagnostic(`BertForSequenceClassification logits: largest difference / range ${error.toExponential(2)}`);
    assert.ok(error <= 1e-5, `BertForSequenceClassification's logits differ from mlm-ts's by ${error} of their range`);
  } finally {
    loaded.dispose();
  }
  await assert.rejects(
    exportPytorch(runDir, join(bertRun.dir, "torch"), "test"),
    /the classifier has BERT's head .* mlm_torch\.py does not implement; export it with --format hf .* or --format onnx/,
  );
});

test("mlm export --format hf refuses a classifier with the tutorial's head or mean pooling, saying what to use", async () => {
  for (const [name, flags, message] of [
    [
      "tutorial-head",
      ["--head", "tutorial"],
      /the classifier has mlm-ts's tutorial head .* fine-tune with --head bert/,
    ],
    [
      "mean-pooling",
      ["--pooling", "mean"],
      /pools the mean of its tokens; BertForSequenceClassification pools \[CLS\]/,
    ],
  ] as const) {
    const runDir = await fineTuned(name, 2, [...flags]);
    const { code, stderr } = await captureOutput(() =>
      main(["export", runDir, "--format", "hf", "--out", join(bertRun.dir, `hf-${name}`)]),
    );
    assert.notEqual(code, 0);
    assert.match(stderr, message);
  }
});

test("mlm export --format hf refuses an architecture that is not BERT's, naming the option", async () => {
  const { dir, runDir } = await trainTinyInteropRun(2);
  const { code, stderr } = await captureOutput(() =>
    main(["export", runDir, "--format", "hf", "--out", join(dir, "hf")]),
  );
  assert.notEqual(code, 0);
  assert.match(stderr, /the model option "embedding" is "scaled", not BERT's "layernorm" .* --recipe bert/);
});
