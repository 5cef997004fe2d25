// classify() and embed(): scores against an independent softmax of the classifier's logits, the
// transformers.js shapes (one text, several, top-k), batches of any size giving the same results,
// sentence vectors against the model's own pooling, normalisation, and loadModel's task checks.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { batchOf } from "../../src/data/index.js";
import { classify, embed, loadModel, type LoadedClassifier, type LoadedModel } from "../../src/pipelines/index.js";
import { tempDir } from "../temp-dir.js";
import { CLASSES, writeTinyCheckpoints, type TinyCheckpoints } from "./tiny-checkpoints.js";

let tiny: TinyCheckpoints;
let classifier: LoadedClassifier;
let mlm: LoadedModel;
const dir = tempDir("mlm-classify-");
const TEXTS = ["the cat sat", "a bird in a tree", "fish swim on the mat", "the log", "dog"];

before(async () => {
  tiny = await writeTinyCheckpoints(dir);
  classifier = await loadModel(tiny.classifierDir, { task: "text-classification", maxBatch: 2 });
  mlm = await loadModel(tiny.mlmDir);
});

after(() => {
  classifier?.dispose();
  mlm?.dispose();
});

/** The classifier's probabilities for one text, from its logits alone, softmax in float64. */
function referenceProbs(text: string): number[] {
  const ids = classifier.tokenizer.encodeIds(text);
  const logits = Array.from(classifier.model.logits(batchOf([{ ids }])));
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

test("classify: scores are the softmax of the logits, best first, in transformers.js's shapes", () => {
  const one = classify(classifier, TEXTS[0], { topK: 3 });
  const probs = referenceProbs(TEXTS[0]);
  assert.equal(one.length, 3);
  assert.deepEqual(new Set(one.map((o) => o.label)), new Set(CLASSES));
  for (const o of one) assert.ok(Math.abs(o.score - probs[CLASSES.indexOf(o.label)]) < 1e-6, `${o.label}`);
  for (let i = 1; i < 3; i++) assert.ok(one[i - 1].score >= one[i].score);
  assert.equal(classify(classifier, TEXTS[0]).length, 1, "top-k 1 by default");
  // several texts: one {label, score} each (top 1), a list each with top-k > 1; batches of 2 here
  const many = classify(classifier, TEXTS) as { label: string; score: number }[];
  assert.equal(many.length, TEXTS.length);
  TEXTS.forEach((t, i) => assert.deepEqual(many[i], classify(classifier, t)[0], t));
  const manyK = classify(classifier, TEXTS, { topK: 2 }) as { label: string; score: number }[][];
  assert.equal(manyK.length, TEXTS.length);
  assert.ok(manyK.every((r) => r.length === 2));
  assert.throws(() => classify(classifier, "x", { topK: 0 }), /topK/);
});

test("classify takes sentence pairs as {text, text_pair}", () => {
  const pair = classify(classifier, { text: "the cat", text_pair: "sat on the mat" }, { topK: 3 });
  const ids = [...classifier.tokenizer.encodeIds("the cat")];
  const b = [...classifier.tokenizer.encodeIds("sat on the mat")].slice(1); // without its [CLS]
  const logits = Array.from(classifier.model.logits(batchOf([{ ids: [...ids, ...b] }])));
  const best = logits.indexOf(Math.max(...logits));
  assert.equal(pair[0].label, CLASSES[best]);
});

test("embed: mean and [CLS] vectors of the model's own pooling, unit length with normalize, from either task", () => {
  for (const loaded of [mlm, classifier]) {
    const C = loaded.modelConfig.dModel;
    const out = embed(loaded, TEXTS, { pooling: "cls" });
    assert.deepEqual(out.dims, [TEXTS.length, C]);
    TEXTS.forEach((t, i) => {
      const alone = loaded.model.embed(batchOf([{ ids: loaded.tokenizer.encodeIds(t) }]), "cls");
      for (let c = 0; c < C; c++) assert.ok(Math.abs(alone[c] - out.data[i * C + c]) < 1e-5);
    });
    const mean = embed(loaded, TEXTS[1]);
    assert.notDeepEqual(Array.from(mean.data), Array.from(out.data.subarray(C, 2 * C)), "mean differs from [CLS]");
    const unit = embed(loaded, TEXTS, { normalize: true }).tolist();
    for (const row of unit) assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
  }
});

test("loadModel knows the task: a classifier is not a fill-mask model, and the other way round", async () => {
  await assert.rejects(loadModel(tiny.classifierDir), /classifier: a text-classification model, not a fill-mask one/);
  await assert.rejects(
    loadModel(tiny.mlmDir, { task: "text-classification" }),
    /mlm: a fill-mask model, not a text-classification one/,
  );
  const any = await loadModel(tiny.classifierDir, { task: "auto" });
  try {
    assert.equal(any.task, "text-classification");
    if (any.task === "text-classification") assert.deepEqual(any.classifier.id2label, CLASSES);
  } finally {
    any.dispose();
  }
});
