// The pipelines on a tiny model trained in the test: fill-mask scores against an independent softmax
// of the model's logits, the right word first on the training pattern, corpus metrics against a
// manual count, the run's validation split against the training loop's own evaluation, the CLIs'
// JSON against the library, and the one-line errors.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fillCommand } from "../../src/cli/fill.js";
import { evalCommand } from "../../src/cli/eval.js";
import { batchOf, MlmDataLoader, tokenizeSentences } from "../../src/data/index.js";
import {
  evaluateCorpus,
  evaluateRunValidation,
  fillMask,
  fillMasks,
  loadModel,
  resolveCheckpointDir,
  type FillMaskPrediction,
  type LoadedModel,
} from "../../src/pipelines/index.js";
import { neverMaskedIds, requireToken } from "../../src/data/index.js";
import { COLOURS, PLACES, tinySentences, trainTinyRun, type TinyRun } from "./tiny-run.js";

let run: TinyRun;
let loaded: LoadedModel;

before(async () => {
  run = await trainTinyRun();
  loaded = await loadModel(run.runDir, { backend: "ts" });
});

after(() => {
  loaded?.dispose();
  run?.cleanup();
});

/** Full-vocabulary probabilities at `row` of `text`, from model.logits, softmax written out in float64. */
function referenceProbs(text: string, row: number): number[] {
  const ids = loaded.tokenizer.encodeIds(text);
  const logits = Array.from(loaded.model.logits(batchOf([{ ids }]), [row]));
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

test("fill-mask scores are the full-vocabulary softmax of the model's logits, best first", () => {
  const text = "the green dog sat on the [MASK].";
  const preds = fillMask(loaded, text, { topK: 7 }) as FillMaskPrediction[];
  assert.equal(preds.length, 7);
  const maskRow = loaded.tokenizer.encode(text).tokens.indexOf("[MASK]");
  const probs = referenceProbs(text, maskRow);
  const order = probs.map((p, id) => ({ p, id })).sort((a, b) => b.p - a.p || a.id - b.id);
  preds.forEach((pred, i) => {
    assert.equal(pred.token, order[i].id);
    assert.ok(Math.abs(pred.score - order[i].p) < 1e-12, `rank ${i}: ${pred.score} vs ${order[i].p}`);
    assert.equal(pred.token_str, loaded.tokenizer.idToToken(pred.token));
    if (i > 0) assert.ok(pred.score <= preds[i - 1].score);
  });
  assert.ok(preds.reduce((a, p) => a + p.score, 0) <= 1 + 1e-12);
  // Every id kept (special tokens included): the whole vocabulary sums to 1.
  const all = fillMask(loaded, text, { topK: 1000 }) as FillMaskPrediction[];
  assert.equal(all.length, loaded.modelConfig.vocabSize);
  assert.ok(Math.abs(all.reduce((a, p) => a + p.score, 0) - 1) < 1e-9);
});

test("the place that goes with the animal ranks first, validation sentences included", () => {
  for (const colour of COLOURS) {
    for (const [animal, place] of PLACES) {
      const preds = fillMask(loaded, `the ${colour} ${animal} sat on the [MASK].`, { topK: 2 }) as FillMaskPrediction[];
      assert.equal(preds[0].token_str, place, `${colour} ${animal}: ${JSON.stringify(preds)}`);
      assert.equal(preds[0].sequence, `the ${colour} ${animal} sat on the ${place}.`);
    }
  }
});

test("several masks give one list per mask, in text order, the other masks left as [MASK]", () => {
  const out = fillMask(loaded, "the red cat sat on [MASK] [MASK].", { topK: 3 }) as FillMaskPrediction[][];
  assert.equal(out.length, 2);
  assert.deepEqual(out, fillMasks(loaded, "the red cat sat on [MASK] [MASK].", { topK: 3 }));
  assert.equal(out[0][0].token_str, "the");
  assert.equal(out[0][0].sequence, "the red cat sat on the [MASK].");
  assert.equal(out[1][0].token_str, "mat");
  assert.equal(out[1][0].sequence, "the red cat sat on [MASK] mat.");
  // A single mask is the list itself.
  assert.ok(!Array.isArray((fillMask(loaded, "the red cat sat on the [MASK].") as unknown[])[0]));
});

test("corpus metrics: perplexity = exp(loss), accuracy over masked positions only (manual count)", async () => {
  const sentences = tinySentences().slice(0, 13);
  const path = join(run.tmp, "eval.txt");
  writeFileSync(path, sentences.join("\n") + "\n");
  const opts = { seed: 5, maskProb: 0.25, batchSize: 4 };
  const r = await evaluateCorpus(loaded, path, opts);
  assert.equal(r.sentences, 13);
  assert.equal(r.perplexity, Math.exp(r.loss));

  // The same fixed masks, scored by hand with model.logits at the labelled rows.
  const tok = loaded.tokenizer;
  const split = tokenizeSentences(sentences, (s) => tok.encodeIds(s), { maxLen: 16, progress: false });
  const loader = new MlmDataLoader(split, {
    batchSize: 4,
    maxLen: 16,
    seed: 5,
    fixedMasks: true,
    mask: { probability: 0.25, maskTokenRate: 1, randomTokenRate: 0 },
    padId: requireToken(tok, "[PAD]"),
    maskId: requireToken(tok, "[MASK]"),
    vocabSize: tok.vocabSize,
    isSpecial: neverMaskedIds(tok),
  });
  let lossSum = 0,
    count = 0,
    top1 = 0,
    top5 = 0,
    realTokens = 0;
  const V = tok.vocabSize;
  for (let i = 0; i < loader.batchesPerEpoch; i++) {
    const packed = loader.batch(0, i);
    const rows: number[] = [];
    for (let t = 0; t < packed.rows; t++) if (packed.labels[t] >= 0) rows.push(t);
    realTokens += packed.rows;
    if (rows.length === 0) continue;
    const logits = loaded.model.logits(packed, rows);
    rows.forEach((row, k) => {
      const z = Array.from(logits.subarray(k * V, (k + 1) * V));
      const label = packed.labels[row];
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((a, x) => a + Math.exp(x - max), 0));
      lossSum += lse - z[label];
      const above = z.filter((x, c) => c !== label && x >= z[label]).length;
      if (above === 0) top1++;
      if (above < 5) top5++;
      count++;
    });
  }
  assert.equal(r.tokens, count);
  assert.ok(count > 0 && count < realTokens / 2, `${count} masked of ${realTokens} tokens`);
  assert.ok(Math.abs(r.loss - lossSum / count) < 1e-4, `loss ${r.loss} vs ${lossSum / count}`);
  assert.equal(r.accuracy, top1 / count);
  assert.equal(r.top5, top5 / count);
  // Same seed, same masks; another seed, other masks.
  assert.deepEqual(await evaluateCorpus(loaded, path, opts), r);
  assert.notEqual((await evaluateCorpus(loaded, path, { ...opts, seed: 6 })).loss, r.loss);
});

test("the run's validation split scores exactly as the training loop's evaluation did", async () => {
  const r = await evaluateRunValidation(loaded);
  const best = run.summary.evaluations.find((e) => e.step === run.summary.bestStep)!.metrics;
  assert.equal(r.sentences, 10);
  assert.equal(r.loss, best.loss);
  assert.equal(r.accuracy, best.accuracy);
  assert.equal(r.top5, best.top5);
  assert.equal(r.tokens, best.tokens);
});

test("mlm fill --json prints the library's output; the table shows the ranks", async () => {
  const text = "the old fish sat on the [MASK].";
  let out = "";
  const code = await fillCommand(
    [text, "--model", run.runDir, "--top-k", "3", "--json", "--backend", "ts"],
    (s) => (out += s),
  );
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), fillMask(loaded, text, { topK: 3 }));
  out = "";
  await fillCommand([text, "-m", run.runDir], (s) => (out += s));
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 6); // header + 5 ranks
  assert.match(lines[1], /^ {3}1 +0\.\d{4} {2}pond +the old fish sat on the pond\.$/);
});

test("mlm eval --json prints the library's metrics", async () => {
  let out = "";
  await evalCommand(
    ["--model", run.runDir, "--data", run.corpusPath, "--seed", "2", "--json", "--backend", "ts"],
    (s) => (out += s),
  );
  const printed = JSON.parse(out) as Record<string, unknown>;
  const r = await evaluateCorpus(loaded, run.corpusPath, { seed: 2 });
  assert.deepEqual(printed, {
    model: loaded.checkpointDir,
    data: run.corpusPath,
    loss: r.loss,
    perplexity: r.perplexity,
    accuracy: r.accuracy,
    top5: r.top5,
    tokens: r.tokens,
    sentences: 50,
  });
  out = "";
  await evalCommand(["--model", run.runDir, "--split", "valid", "--backend", "ts"], (s) => (out += s));
  assert.match(out, new RegExp(`^loss +${run.summary.bestValidLoss!.toFixed(4)}$`, "m"));
});

test("one-line errors: no [MASK], too long, bad top-k, not a model directory", async () => {
  assert.throws(
    () => fillMask(loaded, "the red cat sat on the mat."),
    /^Error: fill-mask: no \[MASK\] token in the text "the red cat sat on the mat\."$/,
  );
  const long = Array.from({ length: 20 }, () => "cat").join(" ") + " [MASK]";
  assert.throws(
    () => fillMask(loaded, long),
    /the text is 23 tokens long \(\[CLS\] and \[SEP\] included\), more than the model's maximum of 16$/,
  );
  assert.throws(() => fillMask(loaded, "the [MASK].", { topK: 0 }), /topK must be an integer >= 1, got 0/);
  // The tokenizer's truncation is restored after the untruncated count.
  assert.equal(loaded.tokenizer.encodeIds(long).length, 16);

  const missing = join(run.tmp, "nope");
  await assert.rejects(loadModel(missing), new RegExp(`^Error: ${escape(missing)}: no such directory`));
  await assert.rejects(
    loadModel(run.tmp),
    new RegExp(
      `^Error: ${escape(run.tmp)}: not a run directory \\(no best/ or last-\\*/ checkpoint\\) nor a checkpoint directory`,
    ),
  );
  await assert.rejects(fillCommand(["the [MASK].", "--model", missing]), /no such directory/);
  await assert.rejects(fillCommand(["no mask here", "--model", run.runDir]), /no \[MASK\] token/);
});

test("a checkpoint directory loads as such; a run without best/ falls back to its newest last-*", async () => {
  const fromBest = await loadModel(join(run.runDir, "best"));
  try {
    assert.equal(fromBest.checkpointDir, join(run.runDir, "best"));
    assert.equal(fromBest.runDir, run.runDir);
    assert.deepEqual(
      fillMask(fromBest, "the red cow sat on the [MASK]."),
      fillMask(loaded, "the red cow sat on the [MASK]."),
    );
  } finally {
    fromBest.dispose();
  }
  const fake = join(run.tmp, "fake-run");
  for (const step of ["last-00000010", "last-00000200"]) {
    mkdirSync(join(fake, step), { recursive: true });
    writeFileSync(join(fake, step, "model.safetensors"), "");
  }
  assert.deepEqual(await resolveCheckpointDir(fake), { checkpointDir: join(fake, "last-00000200"), runDir: fake });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
