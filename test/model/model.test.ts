// The whole model: gradient vs finite differences, padded vs unpadded, sparse vs full head,
// empty batches, determinism, checkpoints views, evaluation counts and capacity errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createWasmBackend } from "../../src/engine/wasm/wasm-backend.js";
import { MlmModel } from "../../src/model/model.js";
import { batchOf } from "../../src/data/index.js";
import { TINY, checkModelGradient, packedRandomBatch, randomBatch, randomSentences } from "./fixtures.js";

const be = new TsBackend();

function tinyModel(seed = 1, overrides = {}): MlmModel {
  const m = new MlmModel(be, { ...TINY, ...overrides }, { maxRows: 128, maxSeqs: 8 });
  m.init(new Rng(seed));
  return m;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / Math.max(scale, 1e-30);
}

test("whole-model gradient matches finite differences at entries of every tensor (no dropout)", () => {
  const m = tinyModel();
  const batch = randomBatch(3, 4, 7, 50);
  const loss = (): number => m.forwardBackward(batch, { train: false }).loss;
  const before = Float32Array.from(m.params);
  const r = m.forwardBackward(batch, { train: false });
  assert.ok(r.count > 0 && Number.isFinite(r.loss));
  checkModelGradient(m, loss, new Set(batch.ids.subarray(0, batch.rows)));
  assert.deepEqual(m.params, before); // the check restored every parameter
});

test("whole-model gradient with dropout matches finite differences when the masks are replayed", () => {
  const m = tinyModel(2, { dropout: 0.1 });
  const batch = randomBatch(4, 3, 6, 50);
  const loss = (): number => m.forwardBackward(batch, { dropoutRng: new Rng(77) }).loss;
  loss();
  checkModelGradient(m, loss, new Set(batch.ids.subarray(0, batch.rows)));
});

test("padded and unpadded packings give the same loss, gradients, evaluation and logits", () => {
  const m = tinyModel(5);
  const u = packedRandomBatch("unpadded", 6, 5, 9, 50, 0.3, 2);
  const p = packedRandomBatch("padded", 6, 5, 9, 50, 0.3, 2);
  assert.ok(p.rows > u.rows);
  const ru = m.forwardBackward(u, { train: false });
  const gu = Float32Array.from(m.grads);
  const rp = m.forwardBackward(p, { train: false });
  assert.equal(ru.count, rp.count);
  assert.ok(Math.abs(ru.loss - rp.loss) < 1e-5 * ru.loss, `${ru.loss} vs ${rp.loss}`);
  assert.ok(maxRelDiff(m.grads, gu) < 1e-5, `gradients differ by ${maxRelDiff(m.grads, gu)}`);
  const eu = m.evaluate(u),
    ep = m.evaluate(p);
  assert.ok(Math.abs(eu.lossSum - ep.lossSum) < 1e-5 * eu.lossSum);
  assert.equal(eu.top5, ep.top5);
  // logits of the first real token of each sentence
  const uRows = [...Array(u.numSeqs).keys()].map((b) => u.seqs[3 * b]);
  const pRows = [...Array(p.numSeqs).keys()].map((b) => p.seqs[3 * b]);
  const lu = Float32Array.from(m.logits(u, uRows));
  const lp = m.logits(p, pRows);
  assert.ok(maxRelDiff(lp, lu) < 1e-5);
});

test("sparse head (labelled rows only) and full head give the same loss and gradients", () => {
  for (const mode of ["unpadded", "padded"] as const) {
    const m = tinyModel(7);
    const batch = packedRandomBatch(mode, 8, 4, 8, 50, 0.2, 1);
    const rs = m.forwardBackward(batch, { train: false });
    const gs = Float32Array.from(m.grads);
    const rf = m.forwardBackward(batch, { train: false, fullHead: true });
    assert.equal(rs.count, rf.count);
    assert.ok(Math.abs(rs.loss - rf.loss) < 1e-6 * rs.loss, `${mode}: ${rs.loss} vs ${rf.loss}`);
    assert.ok(maxRelDiff(m.grads, gs) < 1e-5, `${mode}: gradients differ by ${maxRelDiff(m.grads, gs)}`);
    const es = m.evaluate(batch),
      ef = m.evaluate(batch, { fullHead: true });
    assert.deepEqual([es.count, es.top1, es.top5], [ef.count, ef.top1, ef.top5]);
  }
});

test("a batch without labels gives loss 0 and zero gradients, not NaN", () => {
  const m = tinyModel(9);
  m.forwardBackward(randomBatch(1, 3, 6, 50), { train: false });
  assert.ok(m.grads.some((v) => v !== 0));
  const none = randomBatch(2, 3, 6, 50, 0);
  for (const fullHead of [false, true]) {
    assert.deepEqual(m.forwardBackward(none, { train: false, fullHead }), { loss: 0, count: 0 });
    assert.ok(m.grads.every((v) => v === 0));
  }
  assert.deepEqual(m.evaluate(none), { lossSum: 0, count: 0, top1: 0, top5: 0 });
});

test("same seeds give the same parameters, losses and gradients; another dropout seed differs", () => {
  const a = tinyModel(11, { dropout: 0.1 }),
    b = tinyModel(11, { dropout: 0.1 });
  assert.deepEqual(a.params, b.params);
  assert.notDeepEqual(tinyModel(12).params, a.params);
  const batch = randomBatch(13, 4, 8, 50);
  const ra = a.forwardBackward(batch, { dropoutRng: new Rng(1) });
  const rb = b.forwardBackward(batch, { dropoutRng: new Rng(1) });
  assert.equal(ra.loss, rb.loss);
  assert.deepEqual(a.grads, b.grads);
  const rc = b.forwardBackward(batch, { dropoutRng: new Rng(2) });
  assert.notEqual(rc.loss, ra.loss);
  // evaluation ignores dropout
  assert.equal(a.evaluate(batch).lossSum, b.evaluate(batch).lossSum);
  assert.throws(() => a.forwardBackward(batch), /dropoutRng/);
});

test("accumulating two batches gives the loss and gradient of one batch holding both, weighted by labelled rows", () => {
  const m = new MlmModel(be, TINY, { maxRows: 128, maxSeqs: 8, accumulate: true });
  m.init(new Rng(40));
  const first = randomSentences(41, 3, 8, 50, 0.2);
  const second = randomSentences(42, 4, 8, 50, 0.6); // more labels: an unweighted mean would differ
  const rWhole = m.forwardBackward(batchOf([...first, ...second]), { train: false });
  const gWhole = Float32Array.from(m.grads);
  const r1 = m.forwardBackward(batchOf(first), { train: false });
  const g1 = Float32Array.from(m.grads);
  const r2 = m.forwardBackward(batchOf(second), { train: false });
  const g2 = Float32Array.from(m.grads);
  assert.notEqual(r1.count, r2.count);

  m.forwardBackward(batchOf(first), { train: false, accumulate: true });
  m.forwardBackward(batchOf(second), { train: false, accumulate: true });
  const acc = m.endAccumulation();
  assert.equal(acc.count, rWhole.count);
  assert.equal(acc.loss, (r1.loss * r1.count + r2.loss * r2.count) / (r1.count + r2.count));
  assert.ok(Math.abs(acc.loss - rWhole.loss) < 1e-6 * rWhole.loss, `${acc.loss} vs ${rWhole.loss}`);
  assert.ok(maxRelDiff(m.grads, gWhole) < 1e-5, `gradients differ by ${maxRelDiff(m.grads, gWhole)}`);
  // The arithmetic in float32: (count1 * g1 + count2 * g2) * (1 / (count1 + count2)), each step rounded.
  const n = g1.length;
  const want = be.alloc(n);
  be.scaleAdd(want, g1, n, r1.count, false);
  be.scaleAdd(want, g2, n, r2.count, true);
  be.scaleAdd(want, want, n, 1 / (r1.count + r2.count), false);
  assert.deepEqual(m.grads, want);

  // One accumulated pass is the pass itself; a plain pass afterwards gives its own gradient again.
  m.forwardBackward(batchOf(first), { train: false, accumulate: true });
  const one = m.endAccumulation();
  assert.deepEqual(m.grads, g1);
  assert.deepEqual(one, { loss: (r1.loss * r1.count) / r1.count, count: r1.count });
  m.forwardBackward(batchOf(second), { train: false });
  assert.deepEqual(m.grads, g2);
});

test("accumulation errors: no second gradient buffer, a plain pass in the middle, nothing to end", () => {
  const m = tinyModel(43);
  const batch = randomBatch(44, 2, 6, 50);
  assert.throws(() => m.endAccumulation(), /no pass with accumulate to end/);
  m.forwardBackward(batch, { train: false, accumulate: true });
  assert.throws(() => m.forwardBackward(batch, { train: false }), /in the middle of an accumulation/);
  assert.throws(() => m.forwardBackward(batch, { train: false, accumulate: true }), /needs capacity.accumulate/);
});

test("grownTo keeps a model that fits and copies the weights into a larger one", () => {
  const m = tinyModel(45);
  assert.equal(m.grownTo({ maxRows: 64, maxSeqs: 4 }), m);
  const big = m.grownTo({ maxRows: 200, maxSeqs: 4, maxHeadRows: 7 });
  assert.notEqual(big, m);
  assert.deepEqual(big.capacity, { maxRows: 200, maxSeqs: 8, maxHeadRows: 128, accumulate: false });
  assert.deepEqual(big.params, m.params);
  const batch = randomBatch(46, 3, 8, 50);
  assert.equal(big.evaluate(batch).lossSum, m.evaluate(batch).lossSum);
});

test("named tensors: stable names and shapes, and a load reproduces the model exactly", () => {
  const m = tinyModel(14);
  const t = m.tensors();
  assert.deepEqual(
    t.slice(0, 4).map((x) => [x.name, x.shape]),
    [
      ["embed.weight", [50, 16]],
      ["layers.0.attn.q.weight", [16, 16]],
      ["layers.0.attn.q.bias", [16]],
      ["layers.0.attn.k.weight", [16, 16]],
    ],
  );
  assert.deepEqual(
    t.slice(-6).map((x) => x.name),
    ["head.dense.weight", "head.dense.bias", "head.ln.scale", "head.ln.offset", "head.out.weight", "head.out.bias"],
  );
  assert.equal(t.length, 1 + 2 * 16 + 6);
  assert.equal(
    m.numParams,
    t.reduce((s, x) => s + x.data.length, 0),
  );
  const decayed = m.specs.filter((s) => s.decay).map((s) => s.name);
  assert.ok(
    decayed.includes("embed.weight") &&
      decayed.includes("head.out.weight") &&
      !decayed.some((n) => n.endsWith(".bias") || n.includes(".ln")),
  );
  const copy = tinyModel(99);
  copy.loadTensors(t.map((x) => ({ name: x.name, shape: x.shape, data: Float32Array.from(x.data) })));
  const batch = randomBatch(15, 3, 6, 50);
  assert.equal(copy.evaluate(batch).lossSum, m.evaluate(batch).lossSum);
  assert.throws(() => copy.loadTensors(t.slice(1)), /missing tensor 'embed.weight'/);
  assert.throws(
    () => copy.loadTensors(t.map((x, i) => (i === 2 ? { ...x, shape: [4, 4] } : x))),
    /has shape \[4, 4\], expected \[16\]/,
  );
  assert.throws(
    () => copy.loadTensors([...t, { name: "extra", shape: [1], data: [0] }]),
    /unexpected tensor\(s\) 'extra'/,
  );
});

test("evaluate counts top-1/top-5 hits consistently with the logits", () => {
  const m = tinyModel(16);
  const batch = randomBatch(17, 6, 8, 50, 0.4);
  const rows: number[] = [];
  for (let t = 0; t < batch.rows; t++) if (batch.labels[t] >= 0) rows.push(t);
  const logits = m.logits(batch, rows);
  let top1 = 0,
    top5 = 0,
    lossSum = 0;
  const V = 50;
  rows.forEach((t, r) => {
    const row = Array.from(logits.subarray(r * V, r * V + V));
    const label = batch.labels[t];
    const higher = row.filter((v, c) => c !== label && v >= row[label]).length;
    if (higher === 0) top1++;
    if (higher < 5) top5++;
    const mx = Math.max(...row);
    lossSum += Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx - row[label];
  });
  const e = m.evaluate(batch);
  assert.equal(e.count, rows.length);
  assert.equal(e.top1, top1);
  assert.equal(e.top5, top5);
  assert.ok(top5 >= top1);
  assert.ok(Math.abs(e.lossSum - lossSum) < 1e-4 * lossSum);
});

test("inputs outside the capacity or the vocabulary fail with a clear message", () => {
  const m = new MlmModel(be, TINY, { maxRows: 10, maxSeqs: 2, maxHeadRows: 3 });
  m.init(new Rng(1));
  assert.throws(() => m.evaluate(randomBatch(1, 3, 8, 50, 0.3, 4)), /capacity.maxSeqs is 2|capacity.maxRows is 10/);
  const b = randomBatch(2, 2, 5, 50, 1, 5);
  assert.throws(() => m.logits(b, [0, 1, 2, 3]), /4 rows requested at once, at most capacity.maxHeadRows = 3/);
  b.ids[0] = 50;
  assert.throws(() => m.evaluate(b), /token id 50 at row 0 is outside the vocabulary of 50/);
  const short = new MlmModel(be, { ...TINY, maxLen: 4 }, { maxRows: 10, maxSeqs: 2 });
  assert.throws(() => short.evaluate(randomBatch(2, 2, 5, 50, 1, 5)), /sequence 0 has 5 rows, more than maxLen = 4/);
  assert.throws(() => new MlmModel(be, { ...TINY, numHeads: 3 }, { maxRows: 4, maxSeqs: 1 }), /multiple of numHeads/);
  assert.throws(
    () => new MlmModel(be, { ...TINY, dmodel: 3 } as never, { maxRows: 4, maxSeqs: 1 }),
    /unknown key "dmodel" \(did you mean "dModel"\?\)/,
  );
});

test("the WebAssembly backend (2 threads) gives TsBackend's loss and gradients with dropout: the same masks", async () => {
  const wasm = await createWasmBackend({ threads: 2 });
  try {
    // big enough that the light kernels split across both threads
    const cfg = { ...TINY, dModel: 32, dFF: 64, dropout: 0.2, maxLen: 24 };
    const batch = randomBatch(21, 48, 24, 50, 0.2);
    const cap = { maxRows: 48 * 24, maxSeqs: 48 };
    const a = new MlmModel(be, cfg, cap),
      b = new MlmModel(wasm, cfg, cap);
    a.init(new Rng(3));
    b.params.set(a.params);
    const ra = a.forwardBackward(batch, { dropoutRng: new Rng(8) });
    const rb = b.forwardBackward(batch, { dropoutRng: new Rng(8) });
    assert.ok(Math.abs(ra.loss - rb.loss) < 1e-5 * ra.loss, `${ra.loss} vs ${rb.loss}`);
    assert.ok(maxRelDiff(b.grads, a.grads) < 1e-4, `gradients differ by ${maxRelDiff(b.grads, a.grads)}`);
    // another dropout stream changes the loss on both (the masks really come from the generator)
    const rc = b.forwardBackward(batch, { dropoutRng: new Rng(9) });
    assert.ok(Math.abs(rc.loss - rb.loss) > 1e-4 * rb.loss);
  } finally {
    wasm.dispose();
  }
});

test("the head in chunks of 3 rows gives the loss, gradients and evaluation of one chunk (sparse and full head)", () => {
  const batch = randomBatch(23, 5, 8, 50, 0.4);
  const one = new MlmModel(be, TINY, { maxRows: 64, maxSeqs: 8, maxHeadRows: 64 });
  const chunked = new MlmModel(be, TINY, { maxRows: 64, maxSeqs: 8, maxHeadRows: 3 });
  one.init(new Rng(24));
  chunked.params.set(one.params);
  for (const fullHead of [false, true]) {
    const r1 = one.forwardBackward(batch, { train: false, fullHead });
    const rc = chunked.forwardBackward(batch, { train: false, fullHead });
    assert.ok(r1.count > 6, "several chunks");
    assert.equal(rc.count, r1.count);
    assert.ok(Math.abs(rc.loss - r1.loss) < 1e-6 * r1.loss, `fullHead ${fullHead}: ${rc.loss} vs ${r1.loss}`);
    assert.ok(
      maxRelDiff(chunked.grads, one.grads) < 1e-5,
      `fullHead ${fullHead}: gradients differ by ${maxRelDiff(chunked.grads, one.grads)}`,
    );
    // a second step starts from zero gradients again (the chunks do not add onto the last step's)
    chunked.forwardBackward(batch, { train: false, fullHead });
    assert.ok(maxRelDiff(chunked.grads, one.grads) < 1e-5);
    const e1 = one.evaluate(batch, { fullHead }),
      ec = chunked.evaluate(batch, { fullHead });
    assert.deepEqual([ec.count, ec.top1, ec.top5], [e1.count, e1.top1, e1.top5]);
    assert.ok(Math.abs(ec.lossSum - e1.lossSum) < 1e-6 * e1.lossSum);
  }
  assert.equal(new MlmModel(be, TINY, { maxRows: 2000, maxSeqs: 8 }).capacity.maxHeadRows, 512);
  assert.equal(new MlmModel(be, TINY, { maxRows: 100, maxSeqs: 8 }).capacity.maxHeadRows, 100);
});

test("WebAssembly backend: 1 and 2 threads give the same bits (loss, gradients, Adam-updated parameters)", async () => {
  const wasms = [await createWasmBackend({ threads: 1 }), await createWasmBackend({ threads: 2 })];
  try {
    // big enough that every kernel splits across both threads; two head chunks
    const cfg = { ...TINY, dModel: 64, dFF: 128, numHeads: 4, dropout: 0.1, maxLen: 24 };
    const batch = randomBatch(31, 40, 24, 50, 0.2);
    const cap = { maxRows: 40 * 24, maxSeqs: 40, maxHeadRows: 100 };
    const init = new MlmModel(be, cfg, cap);
    init.init(new Rng(4));
    const runs = wasms.map((w) => {
      const m = new MlmModel(w, cfg, cap);
      m.params.set(init.params);
      const n = m.params.length;
      const mom = w.alloc(n),
        vel = w.alloc(n);
      const mask = m.decayMask();
      const losses: number[] = [];
      const dropoutRng = new Rng(5);
      for (let step = 1; step <= 3; step++) {
        const r = m.forwardBackward(batch, { dropoutRng });
        losses.push(r.loss);
        const norm = Math.sqrt(w.sumSquares(m.grads, n));
        const hyper = {
          learningRate: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          step,
          gradScale: Math.min(1, 0.5 / norm),
          weightDecay: 0.01,
        };
        w.adamUpdate(m.params, m.grads, mom, vel, n, hyper, mask);
      }
      return {
        losses,
        grads: Float32Array.from(m.grads),
        params: Float32Array.from(m.params),
        eval: m.evaluate(batch),
      };
    });
    assert.deepEqual(runs[1].losses, runs[0].losses);
    assert.deepEqual(runs[1].grads, runs[0].grads);
    assert.deepEqual(runs[1].params, runs[0].params);
    assert.deepEqual(runs[1].eval, runs[0].eval);
  } finally {
    for (const w of wasms) w.dispose();
  }
});
