/**
 * The page of webgpu-kernels.test.ts: every kernel of the WebGPU backend run on the same random inputs
 * as the TypeScript reference backend; `window.checkKernels()` returns, per case, the largest
 * difference from the reference relative to the reference's largest magnitude (0 means bit for bit),
 * and the messages the WebGPU backend refuses the bad calls of test/engine/bad-calls.ts with.
 */
import type { Backend } from "../../src/engine/backend.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createWebGpuBackend, type WebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { GpuArray } from "../../src/engine/webgpu/gpu-array.js";
import { Rng } from "../../src/util/rng.js";
import { BAD_CALLS } from "../engine/bad-calls.js";

/** One check: runs kernels on `be` and returns the arrays to compare. */
interface Case {
  name: string;
  run(be: Backend, rng: Rng): Float32Array[] | Promise<Float32Array[]>;
}

export interface CaseResult {
  name: string;
  /** max |gpu - ts| / max(1, max |ts|) over every output */
  error: number;
  /** elements compared */
  size: number;
  /** elements that differ in any bit */
  differing: number;
}

/** An array of `be` holding n values uniform in [-scale, scale) from rng. */
function random(be: Backend, rng: Rng, n: number, scale = 1): Float32Array {
  const a = be.alloc(n);
  a.set(Float32Array.from({ length: n }, () => (rng.float() * 2 - 1) * scale));
  return a;
}

function ints(be: Backend, values: number[]): Int32Array {
  const a = be.allocInt(values.length);
  a.set(values);
  return a;
}

/** Gradient outputs start from random values: the kernels must add to them, not overwrite. */
const accumulated = random;

/** A linear layer's operands on random values: x [T x K], w [K x N], bias [N], and out [T x N]. */
function linear(be: Backend, rng: Rng, T: number, K: number, N: number) {
  return { x: random(be, rng, T * K), w: random(be, rng, K * N), b: random(be, rng, N), out: be.alloc(T * N) };
}

const [LN_T, LN_C] = [13, 24];

/** Layer norm's forward pass on random rows x [T x C]: its inputs and outputs. */
function layerNorm(be: Backend, rng: Rng) {
  const x = random(be, rng, LN_T * LN_C, 3);
  const g = random(be, rng, LN_C);
  const b = random(be, rng, LN_C);
  const [out, mean, rstd] = [be.alloc(LN_T * LN_C), be.alloc(LN_T), be.alloc(LN_T)];
  be.layerNormForward(out, mean, rstd, x, g, b, LN_T, LN_C, 1e-5);
  return { x, g, out, mean, rstd };
}

// Sequences: first row, rows L, valid keys K (the second and fourth are padded).
const SEQS = [0, 5, 5, 5, 7, 4, 12, 3, 3, 15, 6, 2];
const [T_ATT, ATT_C, ATT_H] = [21, 16, 2];

/** Attention's forward pass over SEQS on random q, k, v [T x C]: its inputs and outputs. */
function attention(be: Backend, rng: Rng) {
  const [q, k, v] = [0, 1, 2].map(() => random(be, rng, T_ATT * ATT_C, 2));
  const out = be.alloc(T_ATT * ATT_C);
  const probs = be.alloc(200 * ATT_H);
  const seqs = ints(be, SEQS);
  be.attentionForward(out, probs, q, k, v, seqs, 4, T_ATT, ATT_C, ATT_H);
  return { q, k, v, out, probs, seqs };
}

const CASES: Case[] = [
  {
    name: "matmul with bias (T 19, K 37, N 23)",
    run(be, rng) {
      const { x, w, b, out } = linear(be, rng, 19, 37, 23);
      be.matmul(out, x, w, b, 19, 37, 23);
      return [out];
    },
  },
  {
    name: "matmulTransposed with bias (T 17, K 40, N 33)",
    run(be, rng) {
      const { x, w, b, out } = linear(be, rng, 17, 40, 33); // w read as [N x K]
      be.matmulTransposed(out, x, w, b, 17, 40, 33);
      return [out];
    },
  },
  {
    name: "matmulBackward: dinp accumulated, dw and dbias accumulated (T 35, K 18, N 21)",
    run(be, rng) {
      const [T, K, N] = [35, 18, 21];
      const x = random(be, rng, T * K);
      const w = random(be, rng, K * N);
      const dout = random(be, rng, T * N);
      const dinp = accumulated(be, rng, T * K);
      const dw = accumulated(be, rng, K * N);
      const db = accumulated(be, rng, N);
      be.matmulBackward(dinp, dw, db, dout, x, w, T, K, N, true);
      return [dinp, dw, db];
    },
  },
  {
    name: "matmulBackward: dinp overwritten, no bias; on subarrays",
    run(be, rng) {
      const [T, K, N] = [9, 20, 16];
      const big = random(be, rng, 1000);
      const x = big.subarray(3, 3 + T * K);
      const w = random(be, rng, K * N);
      const dout = big.subarray(400, 400 + T * N);
      const dinp = accumulated(be, rng, T * K);
      const dw = be.alloc(K * N + 5).subarray(5);
      be.matmulBackward(dinp, dw, null, dout, x, w, T, K, N);
      return [dinp, dw];
    },
  },
  {
    name: "layerNormForward (T 13, C 24)",
    run(be, rng) {
      const { out, mean, rstd } = layerNorm(be, rng);
      return [out, mean, rstd];
    },
  },
  {
    name: "layerNormBackward (T 13, C 24), dinp the same array as dout",
    run(be, rng) {
      const { x, g, mean, rstd } = layerNorm(be, rng);
      const d = random(be, rng, LN_T * LN_C);
      const [dg, db] = [accumulated(be, rng, LN_C), accumulated(be, rng, LN_C)];
      be.layerNormBackward(d, dg, db, d, x, g, mean, rstd, LN_T, LN_C);
      return [d, dg, db];
    },
  },
  {
    name: "attentionForward (4 sequences, 2 padded; C 16, H 2)",
    run(be, rng) {
      const { out, probs } = attention(be, rng);
      return [out, probs];
    },
  },
  {
    name: "attentionBackward (4 sequences, 2 padded; C 16, H 2)",
    run(be, rng) {
      const { q, k, v, probs, seqs } = attention(be, rng);
      const dout = random(be, rng, T_ATT * ATT_C);
      const [dq, dk, dv] = [0, 1, 2].map(() => accumulated(be, rng, T_ATT * ATT_C));
      be.attentionBackward(dq, dk, dv, dout, probs, q, k, v, seqs, 4, T_ATT, ATT_C, ATT_H);
      return [dq, dk, dv];
    },
  },
  {
    name: "crossEntropy with gradient in place (R 7, V 300, one unlabelled row)",
    run(be, rng) {
      const [R, V] = [7, 300];
      const logits = random(be, rng, R * V, 4);
      const labels = ints(be, [3, 299, -100, 0, 150, 7, 256]);
      const losses = be.alloc(R);
      be.crossEntropy(losses, logits, logits, labels, R, V, 0.25);
      return [losses, logits];
    },
  },
  {
    name: "crossEntropy without gradient",
    run(be, rng) {
      const [R, V] = [5, 1000];
      const logits = random(be, rng, R * V, 4);
      const losses = be.alloc(R);
      be.crossEntropy(losses, null, logits, ints(be, [1, 2, 999, 500, 0]), R, V, 1);
      return [losses];
    },
  },
  {
    name: "adamUpdate with weight decay on masked entries (n 3000)",
    run(be, rng) {
      const n = 3000;
      const [p, g, m] = [random(be, rng, n), random(be, rng, n), random(be, rng, n, 0.1)];
      const v = be.alloc(n);
      v.set(Float32Array.from({ length: n }, () => rng.float() * 0.01));
      const mask = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const hyper = {
        learningRate: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        step: 7,
        gradScale: 0.5,
        weightDecay: 0.01,
      };
      be.adamUpdate(p, g, m, v, n, hyper, mask);
      return [p, m, v];
    },
  },
  {
    name: "global-norm clipping then Adam (n 70000, clipped)",
    async run(be, rng) {
      const n = 70000;
      const [p, g, m] = [random(be, rng, n), random(be, rng, n), be.alloc(n)];
      const v = be.alloc(n);
      const hyper = { learningRate: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, weightDecay: 0 };
      const norm = new Float32Array(1); // a CPU value on both backends
      if (be instanceof TsBackend) {
        const gradNorm = Math.sqrt(be.sumSquares(g, n));
        be.adamUpdate(p, g, m, v, n, { ...hyper, gradScale: 1 / gradNorm }, null);
        norm[0] = gradNorm;
      } else {
        const gpu = be as WebGpuBackend;
        gpu.clippedAdamUpdate(p, g, m, v, n, hyper, 1, null);
        const { gradNorm } = await gpu.flush();
        norm[0] = gradNorm!;
      }
      return [p, m, v, norm];
    },
  },
  {
    name: "sumSquares (n 100000)",
    async run(be, rng) {
      const x = random(be, rng, 100000);
      const s = new Float32Array(1);
      s[0] =
        be instanceof TsBackend ? be.sumSquares(x, x.length) : await (be as WebGpuBackend).sumSquaresAsync(x, x.length);
      return [s];
    },
  },
  {
    name: "scaleAdd, overwriting then accumulating",
    run(be, rng) {
      const n = 4099;
      const [x, y] = [random(be, rng, n), random(be, rng, n)];
      const out = be.alloc(n);
      be.scaleAdd(out, x, n, 0.3, false);
      be.scaleAdd(out, y, n, -1.7, true);
      be.scaleAdd(y, y, n, 3, false);
      return [out, y];
    },
  },
  {
    name: "dropout, addDropout, reluDropout (p 0.1, 0.5, 0)",
    run(be, rng) {
      const n = 5000;
      const [x, y] = [random(be, rng, n), random(be, rng, n)];
      const outs: Float32Array[] = [];
      for (const p of [0.1, 0.5, 0]) {
        const seed = rng.u32();
        const d = be.alloc(n);
        be.dropout(d, x, n, p, seed);
        const s = be.alloc(n);
        be.addDropout(s, x, y, n, p, seed);
        const r = be.alloc(n);
        r.set(y);
        be.reluDropout(r, n, p, seed);
        outs.push(d, s, r);
      }
      return outs;
    },
  },
  {
    name: "reluBackward",
    run(be, rng) {
      const n = 3001;
      const [d, y] = [random(be, rng, n), random(be, rng, n)];
      be.reluBackward(d, y, n, 1.25);
      return [d];
    },
  },
  {
    name: "gelu and geluBackward",
    run(be, rng) {
      const n = 3001;
      const x = random(be, rng, n, 5);
      const out = be.alloc(n);
      be.gelu(out, x, n);
      const d = random(be, rng, n);
      be.geluBackward(d, x, n);
      return [out, d];
    },
  },
  {
    name: "embeddingForward, gatherRows, scatterAddRows with repeated rows",
    run(be, rng) {
      const [T, C, V, maxLen] = [11, 12, 30, 8];
      const table = random(be, rng, V * C);
      const pe = random(be, rng, maxLen * C);
      const ids = ints(be, [1, 5, 29, 5, 0, 7, 7, 7, 12, 3, 1]);
      const positions = ints(be, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5]);
      const out = be.alloc(T * C);
      be.embeddingForward(out, ids, positions, table, pe, T, C, Math.sqrt(C));
      const rows = ints(be, [10, 0, 3, 3]);
      const gathered = be.alloc(4 * C);
      be.gatherRows(gathered, out, rows, 4, C);
      const dtable = accumulated(be, rng, V * C);
      be.scatterAddRows(dtable, out, ids, T, C, Math.sqrt(C));
      return [out, gathered, dtable];
    },
  },
  {
    name: "fill and set of arrays and subarrays reach the GPU in order with the kernels",
    run(be, rng) {
      const n = 600;
      const x = random(be, rng, n);
      const out = be.alloc(n);
      be.scaleAdd(out, x, n, 2, false);
      out.fill(0.5, 100, 200);
      out.subarray(300).fill(-1, 0, 50);
      out.subarray(400, 500).set(x.subarray(0, 20), 10);
      be.scaleAdd(out, x, n, 1, true);
      return [out];
    },
  },
];

async function read(be: Backend, arrays: Float32Array[]): Promise<Float32Array[]> {
  if (be instanceof TsBackend) return arrays;
  await (be as WebGpuBackend).read(arrays.filter((a) => a instanceof GpuArray));
  return arrays;
}

/** Every case on both backends, and the messages the GPU refuses bad-calls.ts's calls with. */
async function checkKernels(): Promise<{ adapter: string; results: CaseResult[]; refusals: string[] }> {
  const gpu = await createWebGpuBackend();
  const ts = new TsBackend();
  const results: CaseResult[] = [];
  const refusals: string[] = [];
  try {
    for (const c of CASES) {
      const want = await read(ts, await c.run(ts, new Rng(7)));
      const got = await read(gpu, await c.run(gpu, new Rng(7)));
      let error = 0;
      let size = 0;
      let differing = 0;
      want.forEach((w, k) => {
        const g = got[k];
        let scale = 1;
        for (const value of w) scale = Math.max(scale, Math.abs(value));
        for (let i = 0; i < w.length; i++) {
          const d = Math.abs(g[i] - w[i]);
          if (!Object.is(g[i], w[i])) differing++;
          error = Math.max(error, Number.isNaN(d) ? Infinity : d / scale);
        }
        size += w.length;
      });
      results.push({ name: c.name, error, size, differing });
    }
    for (const bad of BAD_CALLS) {
      try {
        bad.call(gpu);
        refusals.push("(accepted)");
      } catch (err) {
        refusals.push((err as Error).message);
      }
    }
  } finally {
    gpu.dispose();
  }
  return { adapter: gpu.name, results, refusals };
}

Object.assign(globalThis, { checkKernels, pageReady: true });
