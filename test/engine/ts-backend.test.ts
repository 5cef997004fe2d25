// TsBackend kernels against naive float64 formulas, and every backward against central differences
// of those formulas (computed in float64, so the check is tight).
import { test } from "node:test";
import assert from "node:assert/strict";
import { dropoutHash, dropoutScale, dropoutThreshold } from "../../src/engine/backend.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import {
  dotAll,
  numericGrad,
  randomArray,
  refAttention,
  refCrossEntropy,
  refLayerNorm,
  refMatmul,
  worstRatio,
} from "./reference.js";

const be = new TsBackend();

/** A backend array holding float32-rounded values, and the same values in float64. */
function pair(n: number, seed: number, scale = 1): { f32: Float32Array; f64: Float64Array } {
  const f32 = be.alloc(n);
  f32.set(randomArray(n, seed, scale));
  return { f32, f64: Float64Array.from(f32) };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  const w = worstRatio(actual, expected, atol, rtol);
  assert.ok(w <= 1, `${what}: off by ${w.toFixed(2)}x the tolerance`);
}

const MATMUL_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 13, 9],
  [8, 16, 12],
  [5, 3, 1],
  [4, 4, 4],
  [9, 33, 300],
];

test("matmul matches the float64 formula, with and without bias", () => {
  for (const [T, K, N] of MATMUL_SHAPES) {
    const x = pair(T * K, 1),
      w = pair(K * N, 2),
      b = pair(N, 3);
    for (const bias of [null, b]) {
      const out = be.alloc(T * N).fill(123); // overwritten, not accumulated
      be.matmul(out, x.f32, w.f32, bias === null ? null : bias.f32, T, K, N);
      close(
        out,
        refMatmul(x.f64, w.f64, bias === null ? null : bias.f64, T, K, N),
        1e-5,
        1e-5,
        `matmul ${T}x${K}x${N}`,
      );
    }
  }
});

test("matmulBackward matches finite differences; dw and dbias accumulate, dinp is overwritten or accumulated", () => {
  for (const [T, K, N] of MATMUL_SHAPES.slice(0, 6)) {
    const x = pair(T * K, 4),
      w = pair(K * N, 5),
      b = pair(N, 6),
      g = pair(T * N, 7);
    const loss = (): number => dotAll(refMatmul(x.f64, w.f64, b.f64, T, K, N), g.f64);
    const dinp = be.alloc(T * K).fill(9);
    const dw0 = randomArray(K * N, 8),
      db0 = randomArray(N, 9);
    const dw = be.alloc(K * N),
      db = be.alloc(N);
    dw.set(dw0);
    db.set(db0);
    be.matmulBackward(dinp, dw, db, g.f32, x.f32, w.f32, T, K, N);
    close(dinp, numericGrad(loss, x.f64), 1e-5, 1e-4, `dinp ${T}x${K}x${N}`);
    close(
      dw.map((v, i) => v - dw0[i]),
      numericGrad(loss, w.f64),
      1e-5,
      1e-4,
      `dw ${T}x${K}x${N}`,
    );
    close(
      db.map((v, i) => v - db0[i]),
      numericGrad(loss, b.f64),
      1e-5,
      1e-4,
      `dbias ${T}x${K}x${N}`,
    );
    // null dinp and null dbias: dw still accumulates the same amount
    const dw2 = be.alloc(K * N);
    be.matmulBackward(null, dw2, null, g.f32, x.f32, w.f32, T, K, N);
    close(
      dw2,
      dw.map((v, i) => v - dw0[i]),
      1e-5,
      1e-5,
      "dw without dinp",
    );
    // accumulateDinp adds the same dinp to what the array held
    const dinp2 = be.alloc(T * K).fill(0.25);
    be.matmulBackward(dinp2, dw2, null, g.f32, x.f32, w.f32, T, K, N, true);
    close(
      dinp2,
      dinp.map((v) => v + 0.25),
      1e-5,
      1e-5,
      `accumulated dinp ${T}x${K}x${N}`,
    );
  }
});

test("layerNormForward and layerNormBackward match the formula and finite differences", () => {
  for (const [T, C] of [
    [1, 1],
    [1, 3],
    [5, 17],
    [7, 64],
  ] as [number, number][]) {
    const x = pair(T * C, 10, 2),
      ga = pair(C, 11),
      be_ = pair(C, 12),
      g = pair(T * C, 13);
    const out = be.alloc(T * C),
      mean = be.alloc(T),
      rstd = be.alloc(T);
    be.layerNormForward(out, mean, rstd, x.f32, ga.f32, be_.f32, T, C, 1e-5);
    close(out, refLayerNorm(x.f64, ga.f64, be_.f64, T, C, 1e-5), 1e-5, 1e-4, `layerNorm ${T}x${C}`);
    const loss = (): number => dotAll(refLayerNorm(x.f64, ga.f64, be_.f64, T, C, 1e-5), g.f64);
    const dinp = be.alloc(T * C).fill(5),
      dgamma = be.alloc(C).fill(1),
      dbeta = be.alloc(C).fill(-1);
    be.layerNormBackward(dinp, dgamma, dbeta, g.f32, x.f32, ga.f32, mean, rstd, T, C);
    close(dinp, numericGrad(loss, x.f64), 1e-4, 1e-3, `dinp LN ${T}x${C}`);
    close(
      dgamma.map((v) => v - 1),
      numericGrad(loss, ga.f64),
      1e-5,
      1e-4,
      `dgamma ${T}x${C}`,
    );
    close(
      dbeta.map((v) => v + 1),
      numericGrad(loss, be_.f64),
      1e-5,
      1e-4,
      `dbeta ${T}x${C}`,
    );
  }
});

// Sequences (start, L, K): unpadded, padded keys (K < L), length 1, and one with no valid key.
const SEQ_CASES: { C: number; H: number; seqs: number[] }[] = [
  { C: 8, H: 2, seqs: [0, 3, 3, 3, 1, 1, 4, 5, 5] },
  { C: 12, H: 3, seqs: [0, 5, 2, 5, 4, 4, 9, 3, 1] },
  { C: 6, H: 1, seqs: [0, 7, 4] },
  { C: 4, H: 2, seqs: [0, 3, 0, 3, 2, 2] },
];

test("attentionForward matches the formula, padded keys get no weight", () => {
  for (const { C, H, seqs } of SEQ_CASES) {
    const n = seqs.length / 3;
    const T = seqs[3 * (n - 1)] + seqs[3 * (n - 1) + 1];
    const q = pair(T * C, 20, 2),
      k = pair(T * C, 21, 2),
      v = pair(T * C, 22);
    const seqArr = be.allocInt(seqs.length);
    seqArr.set(seqs);
    let probSize = 0;
    for (let s = 0; s < n; s++) probSize += seqs[3 * s + 1] ** 2 * H;
    const out = be.alloc(T * C).fill(7),
      probs = be.alloc(probSize);
    be.attentionForward(out, probs, q.f32, k.f32, v.f32, seqArr, n, T, C, H);
    const ref = refAttention(q.f64, k.f64, v.f64, seqs, n, T, C, H);
    close(out, ref.out, 1e-5, 1e-4, `attention out C${C} H${H}`);
    close(probs, ref.probs, 1e-6, 1e-4, `attention probs C${C} H${H}`);
  }
});

test("attentionBackward matches finite differences (including padded and all-padded keys)", () => {
  for (const { C, H, seqs } of SEQ_CASES) {
    const n = seqs.length / 3;
    const T = seqs[3 * (n - 1)] + seqs[3 * (n - 1) + 1];
    const q = pair(T * C, 30, 2),
      k = pair(T * C, 31, 2),
      v = pair(T * C, 32),
      g = pair(T * C, 33);
    const seqArr = be.allocInt(seqs.length);
    seqArr.set(seqs);
    let probSize = 0;
    for (let s = 0; s < n; s++) probSize += seqs[3 * s + 1] ** 2 * H;
    const out = be.alloc(T * C),
      probs = be.alloc(probSize);
    be.attentionForward(out, probs, q.f32, k.f32, v.f32, seqArr, n, T, C, H);
    const dq = be.alloc(T * C).fill(3),
      dk = be.alloc(T * C).fill(3),
      dv = be.alloc(T * C).fill(3);
    be.attentionBackward(dq, dk, dv, g.f32, probs, q.f32, k.f32, v.f32, seqArr, n, T, C, H);
    const loss = (): number => dotAll(refAttention(q.f64, k.f64, v.f64, seqs, n, T, C, H).out, g.f64);
    close(dq, numericGrad(loss, q.f64), 1e-5, 1e-4, `dq C${C} H${H}`);
    close(dk, numericGrad(loss, k.f64), 1e-5, 1e-4, `dk C${C} H${H}`);
    close(dv, numericGrad(loss, v.f64), 1e-5, 1e-4, `dv C${C} H${H}`);
  }
});

test("crossEntropy: losses, ignored rows, gradient (also in place) matches finite differences", () => {
  const R = 6,
    V = 17;
  const logits = pair(R * V, 40, 4);
  const labels = be.allocInt(R);
  labels.set([3, -100, 0, 16, -1, 5]);
  const losses = be.alloc(R).fill(9),
    dl = be.alloc(R * V).fill(9);
  const scale = 0.25;
  be.crossEntropy(losses, dl, logits.f32, labels, R, V, scale);
  const ref = refCrossEntropy(logits.f64, labels, R, V);
  close(losses, ref, 1e-5, 1e-5, "losses");
  assert.equal(losses[1], 0);
  assert.equal(losses[4], 0);
  const total = (): number => refCrossEntropy(logits.f64, labels, R, V).reduce((a, b) => a + b, 0) * scale;
  close(dl, numericGrad(total, logits.f64), 1e-6, 1e-4, "dlogits");
  for (let c = 0; c < V; c++) assert.equal(dl[1 * V + c], 0);
  // in place: dlogits is the logits array
  const inPlace = be.alloc(R * V);
  inPlace.set(logits.f32);
  const losses2 = be.alloc(R);
  be.crossEntropy(losses2, inPlace, inPlace, labels, R, V, scale);
  close(inPlace, dl, 1e-7, 1e-6, "in-place dlogits");
  close(losses2, losses, 1e-7, 0, "in-place losses");
  // without gradient, extreme logits stay finite
  const big = be.alloc(2 * 3);
  big.set([1000, -1000, 0, -50000, 50000, 49999]);
  const l3 = be.alloc(2);
  const lab3 = be.allocInt(2);
  lab3.set([1, 2]);
  be.crossEntropy(l3, null, big, lab3, 2, 3, 1);
  close(l3, [2000, 1 + Math.log1p(Math.exp(-1))], 1e-3, 1e-6, "stable losses");
  lab3[0] = V;
  assert.throws(() => be.crossEntropy(l3, null, big, lab3, 2, 3, 1), /outside the vocabulary/);
});

test("sumSquares accumulates in float64", () => {
  const x = pair(1001, 50);
  let s = 0;
  for (const v of x.f64) s += v * v;
  assert.ok(Math.abs(be.sumSquares(x.f32, 1001) - s) < 1e-9 * s);
  assert.ok(Math.abs(be.sumSquares(x.f32, 10) - dotAll(x.f64.subarray(0, 10), x.f64.subarray(0, 10))) < 1e-12);
});

test("adamUpdate follows the optax formula, with clipping scale and masked weight decay", () => {
  const n = 5;
  const p = pair(n, 60),
    gr = pair(n, 61);
  const m = be.alloc(n),
    v = be.alloc(n);
  const hyper = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, gradScale: 0.5, weightDecay: 0.01 };
  const mask = new Uint8Array([1, 0, 1, 0, 1]);
  const p0 = Float64Array.from(p.f32);
  be.adamUpdate(p.f32, gr.f32, m, v, n, hyper, mask);
  for (let i = 0; i < n; i++) {
    const g = gr.f64[i] * 0.5;
    const mi = 0.1 * g,
      vi = 0.001 * g * g;
    const upd = mi / 0.1 / (Math.sqrt(vi / 0.001) + 1e-8) + (mask[i] ? 0.01 * p0[i] : 0);
    assert.ok(Math.abs(p.f32[i] - (p0[i] - 0.1 * upd)) < 1e-6, `param ${i}`);
    assert.ok(Math.abs(m[i] - mi) < 1e-7 && Math.abs(v[i] - vi) < 1e-9, `moments ${i}`);
  }
});

/** murmur3's fmix32 of seed ^ (i * 0x9e3779b9), written with BigInt (an independent check of the Math.imul version). */
function bigHash(seed: number, i: number): number {
  const M = (1n << 32n) - 1n;
  let h = (BigInt(seed) ^ ((BigInt(i) * 0x9e3779b9n) & M)) & M;
  h = ((h ^ (h >> 16n)) * 0x85ebca6bn) & M;
  h = ((h ^ (h >> 13n)) * 0xc2b2ae35n) & M;
  return Number(h ^ (h >> 16n));
}

test("dropoutHash is murmur3's finalizer of seed ^ i * golden, as unsigned 32-bit integers", () => {
  for (const seed of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 123456789]) {
    for (const i of [0, 1, 2, 3, 1000, 65535, 1 << 20, 2 ** 31 - 1])
      assert.equal(dropoutHash(seed, i), bigHash(seed, i), `seed ${seed} i ${i}`);
  }
  assert.equal(dropoutHash(0, 0), 0); // fmix32(0) = 0: element 0 of seed 0 is always dropped when p > 0
  assert.equal(dropoutThreshold(0), 0);
  assert.equal(dropoutThreshold(0.5), 2 ** 31);
  assert.equal(dropoutThreshold(0.9999999999999), 4294967295);
  assert.throws(() => dropoutThreshold(1), /probability must be in \[0, 1\), got 1/);
  assert.throws(() => dropoutThreshold(Number.NaN), /got NaN/);
});

test("dropout: rate over a million units near p, exact scale, backward applies the same mask", () => {
  const n = 1 << 20;
  for (const [p, seed] of [
    [0.1, 5],
    [0.5, 0xffffffff],
  ] as const) {
    const x = be.alloc(n).fill(1);
    be.dropout(x, x, n, p, seed);
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (x[i] === 0) dropped++;
      else assert.equal(x[i], Math.fround(1 / (1 - p)));
    }
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(dropped / n - p) < 5 * sd, `p ${p}: dropped ${dropped / n}`);
    // backward: the same call on the gradient zeroes exactly the dropped units
    const d = be.alloc(n).fill(2);
    be.dropout(d, d, n, p, seed);
    for (let i = 0; i < n; i++) assert.equal(d[i], x[i] === 0 ? 0 : Math.fround(2 * dropoutScale(p)));
    // the fused forms draw the same mask
    const a = be.alloc(n).fill(3),
      b = be.alloc(n).fill(1),
      r = be.alloc(n).fill(-1);
    be.addDropout(a, a, b, n, p, seed);
    be.reluDropout(r, n, p, seed);
    for (let i = 0; i < n; i += 7) {
      assert.equal(a[i], Math.fround(3 + x[i]));
      assert.equal(r[i], 0);
    }
  }
  // consecutive seeds give unrelated masks: agreement near p^2 + (1-p)^2
  const m1 = be.alloc(n).fill(1),
    m2 = be.alloc(n).fill(1);
  be.dropout(m1, m1, n, 0.5, 41);
  be.dropout(m2, m2, n, 0.5, 42);
  let agree = 0;
  for (let i = 0; i < n; i++) if ((m1[i] === 0) === (m2[i] === 0)) agree++;
  assert.ok(Math.abs(agree / n - 0.5) < 0.005, `agreement ${agree / n}`);
  // p = 0 keeps everything unchanged
  const y = pair(101, 70);
  const z = be.alloc(101);
  be.dropout(z, y.f32, 101, 0, 9);
  assert.deepEqual(z, y.f32);
});

test("reluDropout, reluBackward, scaleAdd: the ReLU passes gradient only where the output is positive", () => {
  const x = Float32Array.from([-1, 0, 2, 3, Number.NaN]);
  be.reluDropout(x, 5, 0, 0);
  assert.deepEqual(Array.from(x), [0, 0, 2, 3, 0]);
  const d = Float32Array.from([1, 1, 1, 1, 1]);
  be.reluBackward(d, x, 5, 2);
  assert.deepEqual(Array.from(d), [0, 0, 2, 2, 0]);
  // scaleAdd: overwrite, accumulate, scale in place; w is rounded to float32, then each step is a float32 step
  const out = Float32Array.from([9, 9, 9]);
  const y = Float32Array.from([1, 2, 3]);
  be.scaleAdd(out, y, 3, 0.5, false);
  assert.deepEqual(Array.from(out), [0.5, 1, 1.5]);
  be.scaleAdd(out, Float32Array.from([0.5, -2, 1e-8]), 3, 2, true);
  assert.deepEqual(Array.from(out), [1.5, -3, 1.5]);
  be.scaleAdd(y, y, 2, -3, false);
  assert.deepEqual(Array.from(y), [-3, -6, 3]);
  const acc = Float32Array.from([1]);
  be.scaleAdd(acc, Float32Array.from([3]), 1, 0.1, true);
  assert.equal(acc[0], Math.fround(1 + Math.fround(Math.fround(0.1) * 3)));
});

test("embedding forward adds the scaled row and the position; scatterAddRows is the adjoint of gatherRows", () => {
  const V = 7,
    C = 5,
    T = 6,
    L = 8,
    scale = Math.sqrt(C);
  const table = pair(V * C, 80),
    pe = pair(L * C, 81);
  const ids = Int32Array.from([3, 1, 3, 6, 3, 0]);
  const pos = Int32Array.from([0, 1, 2, 0, 1, 7]);
  const out = be.alloc(T * C);
  be.embeddingForward(out, ids, pos, table.f32, pe.f32, T, C, scale);
  const expect = new Float64Array(T * C);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++) expect[t * C + c] = table.f64[ids[t] * C + c] * scale + pe.f64[pos[t] * C + c];
  close(out, expect, 1e-6, 1e-6, "embeddingForward");
  // <gather(table), g> = <table, scatter(g)> with repeated ids; scatter accumulates into its target
  const g = pair(T * C, 82);
  const gathered = be.alloc(T * C);
  be.gatherRows(gathered, table.f32, ids, T, C);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) assert.equal(gathered[t * C + c], table.f32[ids[t] * C + c]);
  const dt = be.alloc(V * C).fill(0.5);
  be.scatterAddRows(dt, g.f32, ids, T, C, scale);
  const lhs = dotAll(Float64Array.from(gathered), g.f64) * scale;
  let rhs = 0;
  for (let i = 0; i < V * C; i++) rhs += table.f64[i] * (dt[i] - 0.5);
  assert.ok(Math.abs(lhs - rhs) < 1e-4 * (Math.abs(lhs) + 1), `${lhs} vs ${rhs}`);
  for (const id of [2, 4, 5]) for (let c = 0; c < C; c++) assert.equal(dt[id * C + c], 0.5); // absent ids get nothing
});

test("gelu and geluBackward: PyTorch's tanh-approximated GELU and its derivative (values computed in float64 by torch)", () => {
  const x = Float32Array.from([-3, -1, -0.5, 0, 0.5, 1, 2, 10]);
  // torch.nn.functional.gelu(x, approximate="tanh") and its gradient, float64
  const want = [
    -0.0036373920817729943, -0.1588080093917233, -0.15428599017485606, 0, 0.34571400982514394, 0.8411919906082768,
    1.954597694087775, 10,
  ];
  const slope = [
    -0.011584166630969648, -0.08296408384578258, 0.13263009646535764, 0.5, 0.8673699035346424, 1.0829640838457826,
    1.0860992566236183, 1,
  ];
  const y = be.alloc(8);
  be.gelu(y, x, 8);
  close(y, want, 1e-6, 1e-6, "gelu");
  const d = be.alloc(8).fill(2);
  be.geluBackward(d, x, 8);
  close(
    d,
    slope.map((s) => 2 * s),
    1e-6,
    1e-6,
    "geluBackward",
  );
  // in place, and against central differences of the float64 tanh formula at random points
  const { f32, f64 } = pair(257, 31, 4);
  const gelu64 = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const g = be.alloc(257).fill(1);
  be.geluBackward(g, f32, 257);
  const numeric = Array.from(f64, (v) => (gelu64(v + 1e-6) - gelu64(v - 1e-6)) / 2e-6);
  close(g, numeric, 1e-5, 1e-5, "geluBackward vs finite differences");
  be.gelu(f32, f32, 257);
  close(
    f32,
    Array.from(f64, (v) => gelu64(v)),
    1e-6,
    1e-6,
    "gelu in place",
  );
});

test("matmulTransposed multiplies by the transpose of a [out, in] weight, with and without bias", () => {
  for (const [T, K, N] of MATMUL_SHAPES) {
    const x = pair(T * K, 3, 1);
    const w = pair(N * K, 4, 1); // [N, K]
    const b = pair(N, 5, 1);
    const wt = new Float64Array(K * N); // [K, N]
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = w.f64[n * K + k];
    for (const bias of [null, b]) {
      const out = be.alloc(T * N).fill(7); // overwritten
      be.matmulTransposed(out, x.f32, w.f32, bias === null ? null : bias.f32, T, K, N);
      close(out, refMatmul(x.f64, wt, bias === null ? null : bias.f64, T, K, N), 1e-5, 1e-5, `[${T},${K},${N}]`);
    }
  }
});
