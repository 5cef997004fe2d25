// The architecture options of the recipe (pre-norm with a final LayerNorm, GELU, a tied output layer,
// learned and scaled positions, the embedding's init scale, a dropout rate per place): whole-model
// gradients against finite differences for each, the tied gradient as the sum of its two uses, and
// pre-norm blocks against values computed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { MlmModel } from "../../src/model/model.js";
import { modelConfigOf, type ModelConfig } from "../../src/model/config.js";
import { BlockActivations, blockForward, blockOutput, BlockScratch, blockTensors } from "../../src/model/block.js";
import { initParams, paramLayout, tensorView } from "../../src/model/params.js";
import { positionalEncoding } from "../../src/model/layers.js";
import { TINY, checkModelGradient, randomBatch } from "./fixtures.js";

const be = new TsBackend();

function model(options: Partial<ModelConfig>, seed = 1): MlmModel {
  const m = new MlmModel(be, { ...TINY, ...options }, { maxRows: 128, maxSeqs: 8 });
  m.init(new Rng(seed));
  // move scales and offsets away from 1 and 0, so that every gradient is exercised
  m.params.forEach((v, i) => (m.params[i] = v + 0.05 * Math.sin(i)));
  return m;
}

const OPTIONS: Partial<ModelConfig>[] = [
  { norm: "pre" },
  { activation: "gelu" },
  { tieOutput: true },
  { positions: "learned" },
  // with the default embedding (std 1 times sqrt(C)) plus scaled positions, the first block's attention is
  // so sharp that a step of 1e-3 leaves the linear range; the recipe's smaller embedding keeps it smooth
  { positions: "scaled-sinusoidal", embedInitStd: 0.25 },
  { embedInitStd: 0.1 },
  { norm: "pre", activation: "gelu", tieOutput: true, positions: "learned", embedInitStd: 0.25 },
  // BERT's: LayerNorm of token + learned position, post-norm, GELU, tied output (the bert recipe)
  { embedding: "layernorm", activation: "gelu", tieOutput: true, positions: "learned", embedInitStd: 0.02 },
];

for (const options of OPTIONS) {
  test(`whole-model gradient matches finite differences: ${JSON.stringify(options)}`, () => {
    const m = model(options);
    const batch = randomBatch(3, 4, 7, 50);
    const loss = (): number => m.forwardBackward(batch, { train: false }).loss;
    const r = m.forwardBackward(batch, { train: false });
    assert.ok(r.count > 0 && Number.isFinite(r.loss));
    checkModelGradient(m, loss, new Set(batch.ids.subarray(0, batch.rows)));
  });
}

test("whole-model gradient with a dropout rate per place matches finite differences (masks replayed)", () => {
  const m = model({
    norm: "pre",
    activation: "gelu",
    dropout: 0.1,
    dropoutEmbedding: 0.2,
    dropoutAttention: 0,
    dropoutHidden: 0.3,
  });
  const batch = randomBatch(4, 3, 6, 50);
  const loss = (): number => m.forwardBackward(batch, { dropoutRng: new Rng(77) }).loss;
  loss();
  checkModelGradient(m, loss, new Set(batch.ids.subarray(0, batch.rows)));
});

test("the tied output layer's gradient is the sum of the embedding's and the output layer's", () => {
  // The same function computed twice: tied, and untied with head.out.weight = embed.weight^T.
  const tied = model({ tieOutput: true }, 5);
  const untied = model({}, 5);
  const V = tied.config.vocabSize;
  const C = tied.config.dModel;
  const byName = new Map(tied.tensors().map((t) => [t.name, t.data]));
  const E = byName.get("embed.weight")!;
  untied.loadTensors(
    untied.tensors().map((t) => {
      if (t.name !== "head.out.weight") return { ...t, data: byName.get(t.name)! };
      const Et = new Float32Array(C * V); // [C, V]
      for (let v = 0; v < V; v++) for (let c = 0; c < C; c++) Et[c * V + v] = E[v * C + c];
      return { ...t, data: Et };
    }),
  );
  const batch = randomBatch(8, 4, 7, 50);
  const a = tied.forwardBackward(batch, { train: false });
  const b = untied.forwardBackward(batch, { train: false });
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * Math.abs(b.loss), `loss ${a.loss} vs ${b.loss}`);
  const gTied = tensorView(tied.specs, tied.grads, "embed.weight");
  const gEmbed = tensorView(untied.specs, untied.grads, "embed.weight");
  const gOut = tensorView(untied.specs, untied.grads, "head.out.weight"); // [C, V]
  let worst = 0;
  let scale = 0;
  for (let v = 0; v < V; v++)
    for (let c = 0; c < C; c++) {
      const sum = gEmbed[v * C + c] + gOut[c * V + v];
      worst = Math.max(worst, Math.abs(gTied[v * C + c] - sum));
      scale = Math.max(scale, Math.abs(sum));
    }
  assert.ok(scale > 0 && worst <= 1e-5 * scale, `tied gradient off by ${worst} (scale ${scale})`);
  // and the shared bias, the rest of the head and the blocks get the same gradients
  for (const name of ["head.out.bias", "head.dense.weight", "layers.0.attn.q.weight"]) {
    const x = tensorView(tied.specs, tied.grads, name);
    const y = tensorView(untied.specs, untied.grads, name);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-5 * (1 + Math.abs(y[i])), name);
  }
  assert.ok(!tied.specs.some((s) => s.name === "head.out.weight"), "a tied model has no output weight of its own");
});

test("pre-norm blocks against hand-computed values: identity without sub-layers, the biases added once", () => {
  const cfg = modelConfigOf({ vocabSize: 7, dModel: 4, numLayers: 1, numHeads: 2, dFF: 6, maxLen: 4, norm: "pre" });
  const { specs, total } = paramLayout(cfg);
  const params = be.alloc(total);
  initParams(specs, params, new Rng(1));
  const p = blockTensors(specs, params, 0);
  // Zero out-projection and second FFN layer: each sub-layer adds only its output bias, so
  // res2 = x + bo + b2 exactly, whatever attention and the hidden layer compute.
  p.oW.fill(0);
  p.fc2W.fill(0);
  p.oB.set([0.5, -1, 0, 2]);
  p.fc2B.set([1, 1, -0.25, 0]);
  const T = 3;
  const x = be.alloc(T * 4);
  x.set([1, 2, 3, 4, -1, 0, 1, 0, 0.5, 0.5, -2, 8]);
  const seqs = be.allocInt(3);
  seqs.set([0, 3, 3]);
  const a = new BlockActivations(be, T, T * T * 2, 4, 6, false);
  const s = new BlockScratch(be, T, 4, 6);
  blockForward(be, cfg, p, a, s, x, { T, seqs, numSeqs: 1 }, null);
  const out = blockOutput(cfg, a);
  const want = [2.5, 2, 2.75, 6, 0.5, 0, 0.75, 2, 2, 0.5, -2.25, 10];
  assert.deepEqual(Array.from(out), want);
  // LN1 of the first row by hand: mean 2.5, var 1.25, (x - 2.5) / sqrt(1.25 + 1e-5) (scale 1, offset 0)
  const r = 1 / Math.sqrt(1.25 + 1e-5);
  [-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r].forEach((v, c) => assert.ok(Math.abs(a.x1[c] - v) < 1e-6, `LN1[0][${c}]`));

  // The same block post-norm is LN2(LN1(x + bo) + b2): unit rows, not x + bo + b2.
  const post = modelConfigOf({ ...cfg, norm: "post" });
  blockForward(be, post, p, a, s, x, { T, seqs, numSeqs: 1 }, null);
  const row0 = Array.from(blockOutput(post, a).subarray(0, 4));
  const mean = row0.reduce((u, v) => u + v, 0) / 4;
  assert.ok(Math.abs(mean) < 1e-6, `a post-norm output row has mean 0, got ${mean}`);
});

test("a pre-norm model ends with the final LayerNorm; positions: learned start at the sinusoid, scaled is sqrt(C) times it", () => {
  const pre = model({ norm: "pre" });
  assert.ok(pre.specs.some((s) => s.name === "final.ln.scale"));
  assert.ok(!model({}).specs.some((s) => s.name.startsWith("final.")));
  const learned = new MlmModel(be, { ...TINY, positions: "learned" }, { maxRows: 16, maxSeqs: 2 });
  learned.init(new Rng(3));
  const C = TINY.dModel!;
  assert.deepEqual(tensorView(learned.specs, learned.params, "embed.positions"), positionalEncoding(TINY.maxLen!, C));
  // the same seed draws the same values for every other tensor: the learned table draws nothing
  const plain = new MlmModel(be, TINY, { maxRows: 16, maxSeqs: 2 });
  plain.init(new Rng(3));
  assert.deepEqual(
    tensorView(learned.specs, learned.params, "head.out.weight"),
    tensorView(plain.specs, plain.params, "head.out.weight"),
  );
  // one token at position 1 with a zero embedding: the model's input row is the positional row
  const scaled = new MlmModel(
    be,
    { ...TINY, positions: "scaled-sinusoidal", numLayers: 1 },
    { maxRows: 16, maxSeqs: 2 },
  );
  const unscaled = new MlmModel(be, { ...TINY, numLayers: 1 }, { maxRows: 16, maxSeqs: 2 });
  for (const m of [scaled, unscaled]) m.init(new Rng(4));
  const batch = randomBatch(9, 1, 4, 50, 0.5, 4);
  const ls = scaled.evaluate(batch).lossSum;
  const lu = unscaled.evaluate(batch).lossSum;
  assert.notEqual(ls, lu, "scaling the positions changes the model's output");
});

test("the embedding's init std is embedInitStd (truncated normal: ~0.88 std of the cut)", () => {
  for (const std of [1, 0.05]) {
    const m = new MlmModel(be, { ...TINY, vocabSize: 2000, embedInitStd: std }, { maxRows: 16, maxSeqs: 2 });
    m.init(new Rng(6));
    const e = tensorView(m.specs, m.params, "embed.weight");
    let sq = 0;
    let max = 0;
    for (const v of e) {
      sq += v * v;
      max = Math.max(max, Math.abs(v));
    }
    const measured = Math.sqrt(sq / e.length);
    assert.ok(Math.abs(measured / (0.8796 * std) - 1) < 0.03, `std ${measured} for embedInitStd ${std}`);
    assert.ok(max <= 2 * std * (1 + 1e-6));
  }
});
