// The WebAssembly SIMD backend against the TypeScript reference (TsBackend), kernel by kernel, on
// random inputs at odd and tiny shapes and a couple of the model's real shapes, with 1 and 2 threads.
// Tolerances are relative (1e-4 of the value plus the array's typical size): fused multiply-add,
// float32 sums and another summation order change the last bits, nothing more.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { AdamHyper, Backend } from "../../src/engine/backend.js";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createWasmBackend } from "../../src/engine/wasm/wasm-backend.js";

const ref = new TsBackend();
const backends: Backend[] = [];

before(async () => {
  backends.push(await createWasmBackend({ threads: 1 }), await createWasmBackend({ threads: 2 }));
});

after(() => {
  for (const b of backends) b.dispose();
});

/** Fills `a` with uniform values in [-scale, scale). */
function fill(a: Float32Array, rng: Rng, scale = 1): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = (rng.float() * 2 - 1) * scale;
  return a;
}

/** The same values in an array of `be` and in a plain reference array. */
function twin(be: Backend, src: Float32Array): [Float32Array, Float32Array] {
  const a = be.alloc(src.length);
  a.set(src);
  return [a, Float32Array.from(src)];
}

/** Asserts |a - e| <= rtol * (|e| + rms(e)) element by element. */
function close(actual: Float32Array, expected: Float32Array, what: string, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let ss = 0;
  for (let i = 0; i < expected.length; i++) ss += expected[i] * expected[i];
  const rms = Math.sqrt(ss / Math.max(1, expected.length)) + 1e-30;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= rtol * (Math.abs(expected[i]) + rms))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (rms ${rms.toExponential(2)})`);
    }
  }
}

const SIZES = [1, 2, 3, 5, 7, 13, 17, 33, 64, 129];

function matmulCase(be: Backend, T: number, K: number, N: number, withBias: boolean, seed: number): void {
  const rng = new Rng(seed);
  const tag = `${be.name} T=${T} K=${K} N=${N}${withBias ? " +bias" : ""}`;
  const [x, rx] = twin(be, fill(new Float32Array(T * K), rng));
  const [w, rw] = twin(be, fill(new Float32Array(K * N), rng));
  const [b, rb] = twin(be, fill(new Float32Array(N), rng));
  const [y, ry] = twin(be, fill(new Float32Array(T * N), rng)); // garbage: must be overwritten
  be.matmul(y, x, w, withBias ? b : null, T, K, N);
  ref.matmul(ry, rx, rw, withBias ? rb : null, T, K, N);
  close(y, ry, `matmul ${tag}`);

  const [dy, rdy] = twin(be, fill(new Float32Array(T * N), rng));
  const [dx, rdx] = twin(be, fill(new Float32Array(T * K), rng)); // overwritten
  const [dw, rdw] = twin(be, fill(new Float32Array(K * N), rng)); // accumulated
  const [db, rdb] = twin(be, fill(new Float32Array(N), rng)); // accumulated
  be.matmulBackward(dx, dw, withBias ? db : null, dy, x, w, T, K, N);
  ref.matmulBackward(rdx, rdw, withBias ? rdb : null, rdy, rx, rw, T, K, N);
  close(dx, rdx, `matmulBackward dinp ${tag}`);
  close(dw, rdw, `matmulBackward dw ${tag}`);
  close(db, rdb, `matmulBackward dbias ${tag}`);
  // without dinp, dw keeps accumulating
  be.matmulBackward(null, dw, null, dy, x, w, T, K, N);
  ref.matmulBackward(null, rdw, null, rdy, rx, rw, T, K, N);
  close(dw, rdw, `matmulBackward dw (second call, no dinp) ${tag}`);
  // accumulated dinp
  be.matmulBackward(dx, dw, null, dy, x, w, T, K, N, true);
  ref.matmulBackward(rdx, rdw, null, rdy, rx, rw, T, K, N, true);
  close(dx, rdx, `matmulBackward accumulated dinp ${tag}`);
}

test("matmul and matmulBackward match TsBackend at odd and tiny shapes, 1 and 2 threads", () => {
  const rng = new Rng(7);
  let seed = 100;
  for (const be of backends) {
    for (const s of SIZES) matmulCase(be, s, s, s, s % 2 === 1, seed++);
    for (let i = 0; i < 30; i++) {
      const T = SIZES[rng.int(SIZES.length)],
        K = SIZES[rng.int(SIZES.length)],
        N = SIZES[rng.int(SIZES.length)];
      matmulCase(be, T, K, N, rng.int(2) === 1, seed++);
    }
    // block edges of the packed kernels: inner size over one K block (256), rows and columns
    // not multiples of the 6x8 tile, one column block (256) and a bit
    matmulCase(be, 301, 259, 263, true, seed++);
  }
});

test("matmul and matmulBackward match TsBackend at the model's shapes", () => {
  for (const be of backends) {
    matmulCase(be, 640, 128, 256, true, 11); // encoder 128 -> 256
    matmulCase(be, 97, 256, 128, true, 12); // encoder 256 -> 128
    matmulCase(be, 24, 128, 25000, true, 13); // the head on a few masked positions
  }
});

test("the multiply-then-add kernels (no relaxed SIMD) match TsBackend too", async () => {
  const be = await createWasmBackend({ threads: 2, fma: false });
  try {
    assert.ok(!be.name.includes("fma"), be.name);
    matmulCase(be, 301, 259, 263, true, 21);
    matmulCase(be, 7, 13, 129, false, 22);
    const R = 5,
      V = 1001,
      rng = new Rng(23);
    const labels = be.allocInt(R);
    for (let r = 0; r < R; r++) labels[r] = rng.int(V);
    const [x, rx] = twin(be, fill(new Float32Array(R * V), rng, 8));
    const [loss, rloss] = twin(be, new Float32Array(R));
    const [dx, rdx] = twin(be, new Float32Array(R * V));
    be.crossEntropy(loss, dx, x, labels, R, V, 1);
    ref.crossEntropy(rloss, rdx, rx, Int32Array.from(labels), R, V, 1);
    close(loss, rloss, "crossEntropy losses (no fma)");
    close(dx, rdx, "crossEntropy dlogits (no fma)");
  } finally {
    be.dispose();
  }
});

test("layerNormForward and layerNormBackward match TsBackend", () => {
  let seed = 300;
  for (const be of backends) {
    for (const [T, C] of [
      [1, 1],
      [3, 5],
      [7, 13],
      [33, 128],
      [129, 129],
      [600, 128],
    ]) {
      const rng = new Rng(seed++);
      const tag = `${be.name} T=${T} C=${C}`;
      const [x, rx] = twin(be, fill(new Float32Array(T * C), rng, 3));
      const [g, rg] = twin(be, fill(new Float32Array(C), rng));
      const [b, rb] = twin(be, fill(new Float32Array(C), rng));
      const [y, ry] = twin(be, new Float32Array(T * C));
      const [mean, rmean] = twin(be, new Float32Array(T));
      const [rstd, rrstd] = twin(be, new Float32Array(T));
      be.layerNormForward(y, mean, rstd, x, g, b, T, C, 1e-5);
      ref.layerNormForward(ry, rmean, rrstd, rx, rg, rb, T, C, 1e-5);
      close(y, ry, `layerNormForward out ${tag}`);
      close(mean, rmean, `layerNormForward mean ${tag}`);
      close(rstd, rrstd, `layerNormForward rstd ${tag}`);
      const [dy, rdy] = twin(be, fill(new Float32Array(T * C), rng));
      const [dx, rdx] = twin(be, fill(new Float32Array(T * C), rng));
      const [dg, rdg] = twin(be, fill(new Float32Array(C), rng));
      const [db, rdb] = twin(be, fill(new Float32Array(C), rng));
      be.layerNormBackward(dx, dg, db, dy, x, g, mean, rstd, T, C);
      ref.layerNormBackward(rdx, rdg, rdb, rdy, rx, rg, rmean, rrstd, T, C);
      close(dx, rdx, `layerNormBackward dinp ${tag}`, 3e-4);
      close(dg, rdg, `layerNormBackward dgamma ${tag}`);
      close(db, rdb, `layerNormBackward dbeta ${tag}`);
    }
  }
});

/** Random packed sequences over T rows (the last rows may belong to none), K <= L padded keys. */
function randomSeqs(rng: Rng, numSeqs: number, maxL: number, spare: number): { seqs: number[]; T: number } {
  const seqs: number[] = [];
  let row = 0;
  for (let i = 0; i < numSeqs; i++) {
    const L = 1 + rng.int(maxL);
    const K = i === 0 ? 0 : i === 1 ? L : 1 + rng.int(L); // one all-padded, one unpadded sequence
    seqs.push(row, L, K);
    row += L;
  }
  return { seqs, T: row + spare };
}

test("attentionForward and attentionBackward match TsBackend (padded, all-padded and gap rows)", () => {
  let seed = 500;
  for (const be of backends) {
    for (const [numSeqs, maxL, H, D, spare] of [
      [1, 1, 1, 1, 0],
      [3, 5, 3, 5, 2],
      [12, 30, 8, 16, 0],
      [40, 12, 8, 16, 3],
    ]) {
      const rng = new Rng(seed++);
      const { seqs, T } = randomSeqs(rng, numSeqs, maxL, spare);
      const C = H * D;
      const tag = `${be.name} seqs=${numSeqs} H=${H} D=${D}`;
      const s = be.allocInt(seqs.length);
      s.set(seqs);
      const rs = Int32Array.from(seqs);
      let P = 0;
      for (let i = 0; i < numSeqs; i++) P += seqs[3 * i + 1] ** 2 * H;
      const [q, rq] = twin(be, fill(new Float32Array(T * C), rng, 2));
      const [k, rk] = twin(be, fill(new Float32Array(T * C), rng, 2));
      const [v, rv] = twin(be, fill(new Float32Array(T * C), rng));
      const [o, ro] = twin(be, fill(new Float32Array(T * C), rng));
      const [p, rp] = twin(be, new Float32Array(P));
      be.attentionForward(o, p, q, k, v, s, numSeqs, T, C, H);
      ref.attentionForward(ro, rp, rq, rk, rv, rs, numSeqs, T, C, H);
      close(o, ro, `attentionForward out ${tag}`);
      close(p, rp, `attentionForward probs ${tag}`);
      const [dout, rdout] = twin(be, fill(new Float32Array(T * C), rng));
      const [dq, rdq] = twin(be, fill(new Float32Array(T * C), rng));
      const [dk, rdk] = twin(be, fill(new Float32Array(T * C), rng));
      const [dv, rdv] = twin(be, fill(new Float32Array(T * C), rng));
      be.attentionBackward(dq, dk, dv, dout, p, q, k, v, s, numSeqs, T, C, H);
      ref.attentionBackward(rdq, rdk, rdv, rdout, rp, rq, rk, rv, rs, numSeqs, T, C, H);
      close(dq, rdq, `attentionBackward dq ${tag}`, 3e-4);
      close(dk, rdk, `attentionBackward dk ${tag}`, 3e-4);
      close(dv, rdv, `attentionBackward dv ${tag}`);
    }
  }
});

test("crossEntropy matches TsBackend: ignored rows, gradient, in place", () => {
  let seed = 700;
  for (const be of backends) {
    for (const [R, V] of [
      [1, 1],
      [3, 5],
      [17, 129],
      [9, 25000],
    ]) {
      const rng = new Rng(seed++);
      const tag = `${be.name} R=${R} V=${V}`;
      const labels = be.allocInt(R);
      for (let r = 0; r < R; r++) labels[r] = r % 4 === 3 ? -1 : rng.int(V);
      const rl = Int32Array.from(labels);
      const [x, rx] = twin(be, fill(new Float32Array(R * V), rng, 8));
      const [loss, rloss] = twin(be, fill(new Float32Array(R), rng));
      const [dx, rdx] = twin(be, fill(new Float32Array(R * V), rng));
      be.crossEntropy(loss, dx, x, labels, R, V, 0.25);
      ref.crossEntropy(rloss, rdx, rx, rl, R, V, 0.25);
      close(loss, rloss, `crossEntropy losses ${tag}`);
      close(dx, rdx, `crossEntropy dlogits ${tag}`);
      be.crossEntropy(loss, null, x, labels, R, V, 1);
      close(loss, rloss, `crossEntropy losses without gradient ${tag}`);
      be.crossEntropy(loss, x, x, labels, R, V, 0.25); // in place
      close(x, rdx, `crossEntropy in place ${tag}`);
    }
  }
});

test("sumSquares and adamUpdate match TsBackend", () => {
  let seed = 900;
  for (const be of backends) {
    for (const n of [0, 1, 5, 1001, 100003]) {
      const rng = new Rng(seed++);
      const [x, rx] = twin(be, fill(new Float32Array(n), rng, 3));
      const got = be.sumSquares(x, n);
      const want = ref.sumSquares(rx, n);
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, want), `sumSquares ${be.name} n=${n}: ${got} vs ${want}`);
      for (const weightDecay of [0, 0.01]) {
        const tag = `${be.name} n=${n} wd=${weightDecay}`;
        const [p, rp] = twin(be, fill(new Float32Array(n), rng));
        const [g, rg] = twin(be, fill(new Float32Array(n), rng, 0.1));
        const [m, rm] = twin(be, fill(new Float32Array(n), rng, 0.01));
        const [v, rv] = twin(
          be,
          Float32Array.from(fill(new Float32Array(n), rng, 0.01), (a) => a * a),
        );
        const mask = new Uint8Array(n).map(() => rng.int(2));
        const hyper: AdamHyper = {
          learningRate: 3e-4,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          step: 3,
          gradScale: 0.5,
          weightDecay,
        };
        be.adamUpdate(p, g, m, v, n, hyper, weightDecay > 0 ? mask : null);
        ref.adamUpdate(rp, rg, rm, rv, n, hyper, weightDecay > 0 ? mask : null);
        close(m, rm, `adamUpdate m ${tag}`);
        close(v, rv, `adamUpdate v ${tag}`);
        close(p, rp, `adamUpdate params ${tag}`, 1e-6);
      }
    }
  }
});

test("results are the same bits in two runs with the same thread count", () => {
  for (const be of backends) {
    const rng = new Rng(31);
    const [T, K, N] = [200, 128, 300];
    const x = fill(be.alloc(T * K), rng),
      w = fill(be.alloc(K * N), rng),
      dy = fill(be.alloc(T * N), rng);
    const runs: Float32Array[][] = [];
    for (let r = 0; r < 2; r++) {
      const y = be.alloc(T * N),
        dx = be.alloc(T * K),
        dw = be.alloc(K * N),
        db = be.alloc(N);
      be.matmul(y, x, w, null, T, K, N);
      be.matmulBackward(dx, dw, db, dy, x, w, T, K, N);
      const g = be.alloc(K),
        dg = be.alloc(K),
        dbt = be.alloc(K),
        mean = be.alloc(T),
        rstd = be.alloc(T),
        ln = be.alloc(T * K),
        dln = be.alloc(T * K);
      g.fill(1);
      be.layerNormForward(ln, mean, rstd, x, g, dbt, T, K, 1e-5);
      be.layerNormBackward(dln, dg, dbt, x, x, g, mean, rstd, T, K);
      runs.push([y, dx, dw, db, ln, dln, dg, dbt].map((a) => Float32Array.from(a)));
    }
    for (let i = 0; i < runs[0].length; i++)
      assert.deepEqual(runs[1][i], runs[0][i], `${be.name}: output ${i} differs between runs`);
    assert.equal(be.sumSquares(dy, T * N), be.sumSquares(dy, T * N));
  }
});

test("layerNormBackward's dgamma/dbeta and sumSquares have the same bits with 1 and 2 threads", () => {
  for (const [T, C] of [
    [1, 5],
    [37, 13],
    [300, 128],
    [1653, 256],
  ] as const) {
    const rng = new Rng(T * 7 + C);
    const src = [T * C, T * C, C, T, T].map((n) => fill(new Float32Array(n), rng));
    const outs = backends.map((be) => {
      const [x, dy, g, mean, rstd] = src.map((a) => twin(be, a)[0]);
      for (let t = 0; t < T; t++) rstd[t] = Math.abs(rstd[t]) + 0.5;
      const dx = be.alloc(T * C),
        dg = be.alloc(C).fill(0.25),
        db = be.alloc(C).fill(-0.5);
      be.layerNormBackward(dx, dg, db, dy, x, g, mean, rstd, T, C);
      return [dx, dg, db].map((a) => Float32Array.from(a));
    });
    for (let i = 0; i < 3; i++) same(outs[1][i], outs[0][i], `layerNormBackward T=${T} C=${C} output ${i}`);
  }
  for (const n of [3, 4097, 100_003, 1_000_001]) {
    const x = fill(new Float32Array(n), new Rng(n), 2);
    const [a, b] = backends.map((be) => be.sumSquares(twin(be, x)[0], n));
    assert.equal(a, b, `sumSquares n=${n}`);
  }
});

test("a decay mask from outside the memory is copied once, and a new mask array is used", () => {
  const be = backends[1];
  const n = 4099;
  const hyper: AdamHyper = {
    learningRate: 0.1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    step: 1,
    gradScale: 1,
    weightDecay: 0.5,
  };
  const run = (mask: Uint8Array): Float32Array => {
    const p = be.alloc(n).fill(1),
      g = be.alloc(n),
      m = be.alloc(n),
      v = be.alloc(n);
    be.adamUpdate(p, g, m, v, n, hyper, mask);
    return Float32Array.from(p);
  };
  const ones = new Uint8Array(n).fill(1),
    zeros = new Uint8Array(n);
  const decayed = run(ones);
  assert.ok(decayed.every((x) => x === decayed[0] && x < 1));
  assert.deepEqual(run(ones), decayed);
  assert.ok(
    run(zeros).every((x) => x === 1),
    "a different mask array replaces the cached copy",
  );
  assert.deepEqual(run(ones), decayed);
});

test("arrays from elsewhere are rejected with a clear error; views survive memory growth", async () => {
  const be = backends[1];
  const mine = be.alloc(4);
  assert.throws(
    () => be.matmul(mine, new Float32Array(4), mine, null, 2, 2, 2),
    /matmul inp is not an array of this backend's memory/,
  );
  assert.throws(() => be.sumSquares(backends[0].alloc(3), 3), /sumSquares x is not an array of this backend's memory/);
  assert.throws(() => be.matmul(mine, mine, mine, null, 3, 3, 3), /matmul out has 4 elements, expected at least 9/);
  // a view made before the memory grows keeps working in kernels afterwards
  const early = be.alloc(2 * 2);
  early.set([1, 2, 3, 4]);
  be.alloc(64 << 20); // 256 MiB: forces growth
  const out = be.alloc(4);
  be.matmul(out, early, early, null, 2, 2, 2);
  assert.deepEqual(Array.from(out), [7, 10, 15, 22]);
  const other = await createWasmBackend({ threads: 1 });
  other.dispose();
  assert.throws(() => other.sumSquares(other.alloc(1), 1), /used after dispose/);
});

test("a process that never calls dispose() still exits (workers are unref'ed)", () => {
  // the same module this test imports: TypeScript under tsx, or the compiled dist/ JavaScript
  const fromSources = import.meta.url.endsWith(".ts");
  const url = new URL(`../../src/engine/wasm/wasm-backend.${fromSources ? "ts" : "js"}`, import.meta.url).href;
  const code = `const { createWasmBackend } = await import(${JSON.stringify(url)});
    const be = await createWasmBackend({ threads: 2 });
    const a = be.alloc(64 * 64); a.fill(1);
    const y = be.alloc(64 * 64); be.matmul(y, a, a, null, 64, 64, 64);
    if (y[0] !== 64) throw new Error("wrong product " + y[0]);
    console.log("done", be.threads);`;
  const args = [...(fromSources ? ["--import", "tsx"] : []), "--input-type=module", "-e", code];
  const res = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30000 });
  assert.equal(res.status, 0, `child exited with ${res.status} (signal ${res.signal}): ${res.stderr}`);
  assert.match(res.stdout, /done 2/);
});

/** Asserts the two arrays hold the same float32 bits (the light kernels round exactly as TsBackend). */
function same(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

const LIGHT_SIZES = [1, 3, 4, 7, 33, 1001, 40_003, 131_075];

test("scaleAdd, dropout, addDropout, reluDropout and reluBackward give TsBackend's bits and masks, 1 and 2 threads", () => {
  let seed = 900;
  for (const be of backends) {
    for (const n of LIGHT_SIZES) {
      for (const p of [0, 0.1, 0.5]) {
        const rng = new Rng(seed++);
        const tag = `${be.name} n=${n} p=${p}`;
        const s32 = rng.u32();
        const [a, ra] = twin(be, fill(new Float32Array(n), rng));
        const [b, rb] = twin(be, fill(new Float32Array(n), rng));
        const [out, rout] = twin(be, fill(new Float32Array(n), rng)); // garbage: overwritten
        const w = 0.1 + p; // not a float32: both round it the same way
        be.scaleAdd(out, a, n, w, false);
        ref.scaleAdd(rout, ra, n, w, false);
        same(out, rout, `scaleAdd ${tag}`);
        be.scaleAdd(out, b, n, -w, true);
        ref.scaleAdd(rout, rb, n, -w, true);
        same(out, rout, `scaleAdd accumulate ${tag}`);
        be.scaleAdd(out, out, n, 3 * w, false);
        ref.scaleAdd(rout, rout, n, 3 * w, false);
        same(out, rout, `scaleAdd in place ${tag}`);
        be.dropout(out, a, n, p, s32);
        ref.dropout(rout, ra, n, p, s32);
        same(out, rout, `dropout ${tag}`);
        be.addDropout(out, a, b, n, p, s32);
        ref.addDropout(rout, ra, rb, n, p, s32);
        same(out, rout, `addDropout ${tag}`);
        // in place: out aliases an input
        be.addDropout(b, a, b, n, p, s32 ^ 1);
        ref.addDropout(rb, ra, rb, n, p, s32 ^ 1);
        same(b, rb, `addDropout in place ${tag}`);
        be.dropout(a, a, n, p, s32);
        ref.dropout(ra, ra, n, p, s32);
        same(a, ra, `dropout in place ${tag}`);
        const [x, rx] = twin(be, fill(new Float32Array(n), rng));
        be.reluDropout(x, n, p, s32);
        ref.reluDropout(rx, n, p, s32);
        same(x, rx, `reluDropout ${tag}`);
        const [d, rd] = twin(be, fill(new Float32Array(n), rng));
        const scale = 1 / (1 - p);
        be.reluBackward(d, x, n, scale);
        ref.reluBackward(rd, rx, n, scale);
        same(d, rd, `reluBackward ${tag}`);
      }
    }
  }
});

test("dropout masks do not depend on the thread count or on where a chunk starts", () => {
  const n = 100_003,
    p = 0.3,
    s32 = 0xdeadbeef;
  const masks = backends.map((be) => {
    const x = be.alloc(n).fill(1);
    be.dropout(x, x, n, p, s32);
    return Float32Array.from(x);
  });
  same(masks[1], masks[0], "1 vs 2 threads");
  // a subarray starting at an odd element draws the mask of indices 0.. of that subarray
  const be = backends[1];
  const x = be.alloc(n + 3).fill(1);
  be.dropout(x.subarray(3), x.subarray(3), n, p, s32);
  same(Float32Array.from(x.subarray(3)), masks[0], "offset view");
});

test("embeddingForward, gatherRows and scatterAddRows give TsBackend's bits, repeated rows included", () => {
  let seed = 950;
  for (const be of backends) {
    for (const [T, C, V] of [
      [1, 1, 1],
      [5, 3, 4],
      [37, 13, 9],
      [300, 128, 50],
      [2000, 64, 3],
    ]) {
      const rng = new Rng(seed++);
      const tag = `${be.name} T=${T} C=${C} V=${V}`;
      const maxLen = 11;
      const ids = be.allocInt(T),
        pos = be.allocInt(T);
      for (let t = 0; t < T; t++) {
        ids[t] = rng.int(V);
        pos[t] = rng.int(maxLen);
      }
      const [table, rtable] = twin(be, fill(new Float32Array(V * C), rng));
      const [pe, rpe] = twin(be, fill(new Float32Array(maxLen * C), rng));
      const [out, rout] = twin(be, fill(new Float32Array(T * C), rng));
      const scale = Math.sqrt(C);
      be.embeddingForward(out, ids, pos, table, pe, T, C, scale);
      ref.embeddingForward(rout, Int32Array.from(ids), Int32Array.from(pos), rtable, rpe, T, C, scale);
      same(out, rout, `embeddingForward ${tag}`);
      // gather T rows of the table (with repeats), scatter them back
      const [g, rg] = twin(be, fill(new Float32Array(T * C), rng));
      be.gatherRows(g, table, ids, T, C);
      ref.gatherRows(rg, rtable, Int32Array.from(ids), T, C);
      same(g, rg, `gatherRows ${tag}`);
      const [dt, rdt] = twin(be, fill(new Float32Array(V * C), rng)); // accumulated into
      be.scatterAddRows(dt, out, ids, T, C, scale);
      ref.scatterAddRows(rdt, rout, Int32Array.from(ids), T, C, scale);
      same(dt, rdt, `scatterAddRows ${tag}`);
    }
  }
});

test("the light kernels reject arrays from elsewhere and bad dropout rates", () => {
  const be = backends[0];
  const x = be.alloc(8);
  assert.throws(
    () => be.scaleAdd(x, new Float32Array(8), 8, 1, true),
    /scaleAdd x is not an array of this backend's memory/,
  );
  assert.throws(() => be.dropout(x, x, 9, 0.1, 1), /dropout out has 8 elements, expected at least 9/);
  assert.throws(() => be.dropout(x, x, 8, 1, 1), /probability must be in \[0, 1\), got 1/);
  assert.throws(() => ref.reluDropout(x, 8, -0.1, 1), /probability must be in \[0, 1\)/);
});

test("matmulTransposed, gelu and geluBackward match TsBackend, 1 and 2 threads", () => {
  for (const be of backends) {
    for (const [T, K, N] of [
      [1, 1, 1],
      [5, 7, 13],
      [96, 128, 1000],
      [3, 129, 33],
    ] as const) {
      const rng = new Rng(T * 7 + N);
      const [x, rx] = twin(be, fill(new Float32Array(T * K), rng));
      const [w, rw] = twin(be, fill(new Float32Array(N * K), rng));
      const [b, rb] = twin(be, fill(new Float32Array(N), rng));
      const [y, ry] = twin(be, fill(new Float32Array(T * N), rng));
      be.matmulTransposed(y, x, w, b, T, K, N);
      ref.matmulTransposed(ry, rx, rw, rb, T, K, N);
      close(y, ry, `matmulTransposed ${be.name} [${T},${K},${N}]`);
    }
    for (const n of [1, 3, 4, 7, 1031, 64 * 256]) {
      const rng = new Rng(n);
      const [x, rx] = twin(be, fill(new Float32Array(n), rng, 6));
      const [y, ry] = twin(be, new Float32Array(n));
      be.gelu(y, x, n);
      ref.gelu(ry, rx, n);
      close(y, ry, `gelu ${be.name} n=${n}`, 1e-5);
      const [d, rd] = twin(be, fill(new Float32Array(n), rng));
      be.geluBackward(d, x, n);
      ref.geluBackward(rd, rx, n);
      close(d, rd, `geluBackward ${be.name} n=${n}`, 1e-5);
    }
  }
});
