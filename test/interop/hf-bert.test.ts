// `mlm export --format hf` of a run of the bert recipe, read by an independent BertForMaskedLM written
// in PyTorch after transformers' modeling_bert.py (bert_for_masked_lm.py beside this file; transformers
// itself is not installed): its strict name check passes and its logits equal mlm-ts's to 1e-5 of
// their range on a padded batch. Other architectures are refused, naming the option that is not BERT's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RECIPES } from "../../src/config/recipes.js";
import { projectRoot } from "../../src/data/index.js";
import { main } from "../../src/cli/main.js";
import { loadModel } from "../../src/pipelines/index.js";
import { captureOutput } from "./capture.js";
import { logitsError, paddedBatch, PARITY_SENTENCES, python, trainTinyInteropRun } from "./tiny-interop-run.js";

const BERT = join(projectRoot(), "test", "interop", "bert_for_masked_lm.py");

test("mlm export --format hf: BertForMaskedLM's names and config, the same logits to 1e-5", async (t) => {
  const { dir, runDir } = await trainTinyInteropRun(40, RECIPES.bert);
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
    const rows = (a: Int32Array): number[][] =>
      batch.encoded.map((_, b) => Array.from(a.subarray(b * batch.L, (b + 1) * batch.L)));
    const result = JSON.parse(
      python([BERT, out, JSON.stringify({ ids: rows(batch.ids), mask: rows(batch.mask) })], ["numpy", "torch"]),
    ) as { shape: number[]; logits: number[] };
    assert.deepEqual(result.shape, [batch.encoded.length, batch.L, V]);
    const { error, count } = logitsError(loaded.model, batch, Float32Array.from(result.logits), V);
    t.diagnostic(`BertForMaskedLM logits: largest difference / range ${error.toExponential(2)} over ${count} logits`);
    assert.ok(error <= 1e-5, `BertForMaskedLM's logits differ from mlm-ts's by ${error} of their range`);
  } finally {
    loaded.dispose();
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
