// The classifier: its gradient against finite differences (both poolings, post- and pre-norm, with
// dropout replayed; the tutorial's head and BERT's), BERT's head against its formula, packings, the encoder it shares with the masked-LM model, and its checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createWasmBackend } from "../../src/engine/wasm/wasm-backend.js";
import { ClassifierModel, isEncoderTensor } from "../../src/model/classifier.js";
import { MlmModel } from "../../src/model/model.js";
import { batchOf, type Batch, type PackMode } from "../../src/data/index.js";
import type { Pooling } from "../../src/model/pooling.js";
import type { ClassifierHead } from "../../src/model/classifier-heads.js";
import { TINY, checkModelGradient } from "./fixtures.js";

const be = new TsBackend();
const N = 3;

function classifier(
  seed: number,
  pooling: Pooling,
  overrides = {},
  head: ClassifierHead = "tutorial",
): ClassifierModel {
  const m = new ClassifierModel(
    be,
    { ...TINY, ...overrides },
    { numLabels: N, pooling, head },
    { maxRows: 128, maxSeqs: 8 },
  );
  m.init(new Rng(seed));
  return m;
}

/** B sentences of random lengths 2..S starting with [CLS] (id 1), each labelled on its first row. */
function labelledBatch(seed: number, B: number, S: number, pack: PackMode = "unpadded"): Batch {
  const rng = new Rng(seed);
  const rows = Array.from({ length: B }, () => {
    const len = 2 + rng.int(S - 1);
    const ids = Int32Array.from({ length: len }, (_, j) => (j === 0 ? 1 : 5 + rng.int(45)));
    const labels = new Int32Array(len).fill(-100);
    labels[0] = rng.int(N);
    return { ids, labels };
  });
  return batchOf(rows, { pack, width: S });
}

// ReLU's kink makes central differences of step 1e-3 wrong wherever a unit of these few rows sits
// within the step of 0 (post-norm's seed here has such units); each pooling is checked post-norm
// with GELU (smooth) and pre-norm with ReLU, and the dropout test below is post-norm with ReLU.
for (const pooling of ["cls", "mean"] as const) {
  for (const [norm, activation] of [
    ["post", "gelu"],
    ["pre", "relu"],
  ] as const) {
    test(`classifier gradient (${pooling} pooling, ${norm}-norm, ${activation}) matches finite differences at entries of every tensor`, () => {
      const m = classifier(3, pooling, { norm, activation });
      const batch = labelledBatch(4, 4, 7);
      const loss = (): number => m.forwardBackward(batch, { train: false }).loss;
      const r = m.forwardBackward(batch, { train: false });
      assert.equal(r.count, 4);
      assert.ok(Number.isFinite(r.loss) && r.loss > 0);
      checkModelGradient(m, loss, new Set(batch.ids));
    });
  }
}

test("classifier gradient with dropout matches finite differences when the masks are replayed", () => {
  const m = classifier(5, "cls", { dropout: 0.1 });
  const batch = labelledBatch(6, 3, 6);
  const loss = (): number => m.forwardBackward(batch, { dropoutRng: new Rng(9) }).loss;
  loss();
  checkModelGradient(m, loss, new Set(batch.ids));
});

// BERT's head (pooler dense + tanh, dropout, classifier) on BERT's architecture (LayerNorm embedding,
// learned positions, post-norm, GELU) and, for the mean pooling, on the tutorial's.
for (const [pooling, overrides] of [
  ["cls", { embedding: "layernorm", positions: "learned", activation: "gelu", tieOutput: true }],
  ["mean", { activation: "gelu" }],
] as const) {
  test(`BERT's classifier head (${pooling} pooling) gradient matches finite differences at entries of every tensor`, () => {
    const m = classifier(13, pooling, overrides, "bert");
    assert.deepEqual(
      m.specs.filter((s) => !isEncoderTensor(s.name)).map((s) => `${s.name} [${s.shape.join(",")}]`),
      [
        "classifier.pooler.weight [16,16]",
        "classifier.pooler.bias [16]",
        "classifier.out.weight [16,3]",
        "classifier.out.bias [3]",
      ],
    );
    const batch = labelledBatch(14, 4, 7);
    const loss = (): number => m.forwardBackward(batch, { train: false }).loss;
    loss();
    checkModelGradient(m, loss, new Set(batch.ids));
  });
}

test("BERT's classifier head with dropout: its gradient matches finite differences when the masks are replayed", () => {
  const m = classifier(15, "cls", { dropout: 0.2 }, "bert");
  const batch = labelledBatch(16, 3, 6);
  const loss = (): number => m.forwardBackward(batch, { dropoutRng: new Rng(9) }).loss;
  const a = loss();
  assert.notEqual(a, m.forwardBackward(batch, { train: false }).loss, "dropout changes the training loss");
  loss();
  checkModelGradient(m, loss, new Set(batch.ids));
});

test("BERT's classifier head computes tanh(pooled @ Wp + bp) @ Wo + bo, in float64 to 1e-6", () => {
  const m = classifier(17, "cls", {}, "bert");
  const batch = labelledBatch(18, 3, 6);
  const C = m.config.dModel;
  const pooled = Float64Array.from(m.embed(batch, "cls"));
  const logits = Float32Array.from(m.logits(batch));
  const t = new Map(m.tensors().map((x) => [x.name, x.data]));
  const [pW, pB, oW, oB] = ["pooler.weight", "pooler.bias", "out.weight", "out.bias"].map((n) =>
    t.get(`classifier.${n}`)!,
  );
  for (let b = 0; b < 3; b++) {
    const h = Array.from({ length: C }, (_, j) => {
      let s = pB[j];
      for (let i = 0; i < C; i++) s += pooled[b * C + i] * pW[i * C + j];
      return Math.tanh(s);
    });
    for (let k = 0; k < N; k++) {
      let s = oB[k];
      for (let j = 0; j < C; j++) s += h[j] * oW[j * N + k];
      assert.ok(Math.abs(s - logits[b * N + k]) < 1e-6, `sentence ${b}, class ${k}: ${s} vs ${logits[b * N + k]}`);
    }
  }
});

test("padded and unpadded packings give the same classifier loss, gradients and logits", () => {
  for (const pooling of ["cls", "mean"] as const) {
    const m = classifier(7, pooling);
    const u = labelledBatch(8, 5, 9, "unpadded");
    const p = labelledBatch(8, 5, 9, "padded");
    assert.ok(p.rows > u.rows);
    const ru = m.forwardBackward(u, { train: false });
    const gu = Float32Array.from(m.grads);
    const rp = m.forwardBackward(p, { train: false });
    assert.ok(Math.abs(ru.loss - rp.loss) < 1e-6 * ru.loss, `${pooling}: ${ru.loss} vs ${rp.loss}`);
    for (let i = 0; i < gu.length; i++) assert.ok(Math.abs(gu[i] - m.grads[i]) < 1e-5, `${pooling}: gradient ${i}`);
    const lu = Float32Array.from(m.logits(u));
    const lp = m.logits(p);
    for (let i = 0; i < lu.length; i++) assert.ok(Math.abs(lu[i] - lp[i]) < 1e-5);
    // evaluate's loss sum is the mean loss times the sentences
    const e = m.evaluate(u);
    assert.equal(e.count, 5);
    assert.ok(Math.abs(e.lossSum / 5 - ru.loss) < 1e-6 * ru.loss);
  }
});

test("mean pooling is the mean of the encoder's real rows; [CLS] pooling is the first row", () => {
  const m = classifier(11, "mean");
  const p = labelledBatch(12, 3, 6, "padded");
  const mean = Float32Array.from(m.embed(p, "mean"));
  const cls = Float32Array.from(m.embed(p, "cls"));
  // each sentence alone: its mean and first row must not depend on the others, nor on padding
  const C = m.config.dModel;
  for (let b = 0; b < 3; b++) {
    const K = p.seqs[3 * b + 2];
    const ids = p.ids.subarray(p.seqs[3 * b], p.seqs[3 * b] + K);
    const alone = batchOf([{ ids }]);
    const am = m.embed(alone, "mean");
    for (let c = 0; c < C; c++) assert.ok(Math.abs(am[c] - mean[b * C + c]) < 1e-5);
    const ac = m.embed(alone, "cls");
    for (let c = 0; c < C; c++) assert.ok(Math.abs(ac[c] - cls[b * C + c]) < 1e-5);
  }
});

test("the classifier's encoder draws the masked-LM encoder's initial values from a seed, and loads a masked-LM checkpoint's encoder", () => {
  const mlm = new MlmModel(be, TINY, { maxRows: 64, maxSeqs: 4 });
  mlm.init(new Rng(21));
  const cls = classifier(21, "cls");
  const mlmTensors = new Map(mlm.tensors().map((t) => [t.name, t.data]));
  for (const t of cls.tensors()) {
    if (!isEncoderTensor(t.name)) continue;
    assert.deepEqual(t.data, mlmTensors.get(t.name), t.name);
  }
  const other = classifier(99, "cls");
  const headBefore = Float32Array.from(other.tensors().find((t) => t.name === "classifier.out.weight")!.data);
  other.loadEncoder(mlm.tensors()); // head.* of the masked-LM model are dropped
  for (const t of other.tensors()) {
    if (isEncoderTensor(t.name)) assert.deepEqual(t.data, mlmTensors.get(t.name), t.name);
  }
  assert.deepEqual(other.tensors().find((t) => t.name === "classifier.out.weight")!.data, headBefore);
  assert.throws(
    () => other.loadEncoder(mlm.tensors().filter((t) => t.name !== "layers.1.ln2.scale")),
    /missing tensor 'layers.1.ln2.scale'/,
  );
});

test("the classifier refuses a label outside its classes, a sentence without one, and a single class", () => {
  const m = classifier(1, "cls");
  const bad = batchOf([{ ids: [1, 7, 9], labels: [N, -100, -100] }]);
  assert.throws(() => m.forwardBackward(bad, { train: false }), /label 3 of sentence 0 is outside the 3 classes/);
  const none = batchOf([{ ids: [1, 7, 9] }]);
  assert.throws(() => m.forwardBackward(none, { train: false }), /1 of the batch's 1 sentences have no label/);
  assert.throws(
    () => new ClassifierModel(be, TINY, { numLabels: 1, pooling: "cls" }, { maxRows: 8, maxSeqs: 1 }),
    /numLabels must be an integer of at least 2, got 1/,
  );
});

test("the wasm kernels give the TypeScript kernels' classifier loss and gradients to float rounding", async () => {
  const wasm = await createWasmBackend({ threads: 2 });
  try {
    for (const [pooling, head] of [
      ["cls", "tutorial"],
      ["mean", "tutorial"],
      ["cls", "bert"],
    ] as const) {
      const a = classifier(31, pooling, {}, head);
      const b = new ClassifierModel(wasm, TINY, { numLabels: N, pooling, head }, { maxRows: 128, maxSeqs: 8 });
      b.loadTensors(a.tensors());
      const batch = labelledBatch(32, 6, 10);
      const ra = a.forwardBackward(batch, { train: false });
      const rb = b.forwardBackward(batch, { train: false });
      assert.ok(Math.abs(ra.loss - rb.loss) < 1e-5 * ra.loss, `${pooling}: ${ra.loss} vs ${rb.loss}`);
      let scale = 0;
      for (const g of a.grads) scale = Math.max(scale, Math.abs(g));
      for (let i = 0; i < a.grads.length; i++)
        assert.ok(Math.abs(a.grads[i] - b.grads[i]) < 1e-4 * scale, `${pooling}: gradient ${i}`);
    }
  } finally {
    wasm.dispose();
  }
});
