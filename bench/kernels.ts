/**
 * Kernel benchmark: GFLOP/s of the matrix products at the model's shapes (the 25000-way head and the
 * encoder's linear layers, forward and backward) and milliseconds of the other kernels, for the
 * WebAssembly backend on 1 and 2 threads and for the plain TypeScript backend as a comparison.
 * Each figure is the median of several repeats after a warm-up call (dX: see below).
 *
 * dX (dinp = dout @ w^T) has no kernel of its own in the Backend interface (matmulBackward always
 * computes dw), so it is timed as matmulBackward with dinp minus matmulBackward without, from
 * interleaved samples of several calls (see `extraMs`).
 *
 * Run: npm run build && node dist/bench/kernels.js [--quick] [--threads N]
 * (it sets the `mlm` command's V8 flags for its process: relaxed SIMD, and the optimising tier at
 * once; see src/cli/engine-flags.ts). The last line printed is the results as one JSON object. Figures
 * are only meaningful on an otherwise idle machine: another busy process halves the 2-thread numbers.
 */
import { pathToFileURL } from "node:url";
import os from "node:os";
import type { Backend } from "../src/engine/backend.js";
import { TsBackend } from "../src/engine/ts-backend.js";
import { createWasmBackend } from "../src/engine/wasm/wasm-backend.js";
import { setCliEngineFlags } from "../src/cli/engine-flags.js";

/** Options of `runKernelBench`. */
export interface KernelBenchOptions {
  /** Fewer shapes and repeats (a few seconds). */
  quick?: boolean;
  /** Benchmark only this many threads (default: 1 and os.availableParallelism()). */
  threads?: number;
  /** Print a table while running (default true). */
  print?: boolean;
}

/** Median wall time in ms of `reps` calls of f after one warm-up call. */
function medianMs(f: () => void, reps: number): number {
  f();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Wall time in ms of `calls` back-to-back calls of f. */
function timeCalls(f: () => void, calls: number): number {
  const t0 = performance.now();
  for (let c = 0; c < calls; c++) f();
  return performance.now() - t0;
}

/**
 * ms per call that `withExtra` takes beyond `base` (the same work plus a part that has no call of its
 * own, about as much work as `base`). Samples of the two alternate, each of enough back-to-back calls
 * to last about `sampleMs`, and the best sample of each counts. Why: other processes take the cores
 * in slices of milliseconds, so single short calls are either untouched or slowed several times over;
 * a difference of medians of single calls timed one series after the other came out zero or negative
 * under load (printed as "NaN GFLOP/s"). Long interleaved samples see the same load, and the best of
 * each is the quietest. While the difference is implausibly small (under a fifth of `base`), it is
 * measured again with samples twice as long, up to three more times.
 */
export function extraMs(base: () => void, withExtra: () => void, reps: number, sampleMs = 10): number {
  base();
  const one = timeCalls(withExtra, 1);
  let calls = Math.max(1, Math.ceil(sampleMs / Math.max(one, 1e-3)));
  let extra = 0;
  for (let round = 0; round < 4; round++, calls *= 2) {
    let bestBase = Infinity;
    let bestWith = Infinity;
    for (let r = 0; r < reps; r++) {
      bestBase = Math.min(bestBase, timeCalls(base, calls) / calls);
      bestWith = Math.min(bestWith, timeCalls(withExtra, calls) / calls);
    }
    extra = bestWith - bestBase;
    if (extra > 0.2 * bestBase) break;
  }
  return extra;
}

function fillRandom(a: Float32Array, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 4294967296 - 0.5) * 2;
  }
}

interface MatmulShape {
  name: string;
  T: number;
  K: number;
  N: number;
}

/** Matrix products: forward, dW, dX in GFLOP/s. */
function benchMatmul(be: Backend, s: MatmulShape, reps: number, put: (k: string, v: number) => void): void {
  const { T, K, N } = s;
  const x = be.alloc(T * K),
    w = be.alloc(K * N),
    b = be.alloc(N),
    y = be.alloc(T * N);
  const dx = be.alloc(T * K),
    dw = be.alloc(K * N),
    db = be.alloc(N);
  fillRandom(x, 1);
  fillRandom(w, 2);
  fillRandom(y, 3);
  const gflop = (2 * T * K * N) / 1e9;
  const onlyDw = (): void => be.matmulBackward(null, dw, db, y, x, w, T, K, N);
  const fwd = medianMs(() => be.matmul(y, x, w, b, T, K, N), reps);
  const dW = medianMs(onlyDw, reps);
  const dX = extraMs(onlyDw, () => be.matmulBackward(dx, dw, db, y, x, w, T, K, N), reps);
  put(`${s.name}.fwd`, gflop / (fwd / 1e3));
  put(`${s.name}.dW`, gflop / (dW / 1e3));
  put(`${s.name}.dX`, gflop / (dX / 1e3));
}

/** The other kernels at a training step's sizes, in ms per call. */
function benchOthers(be: Backend, reps: number, put: (k: string, v: number) => void): void {
  const T = 1600,
    C = 128,
    H = 8;
  const x = be.alloc(T * C),
    y = be.alloc(T * C),
    g = be.alloc(C),
    bt = be.alloc(C),
    mean = be.alloc(T),
    rstd = be.alloc(T);
  const dx = be.alloc(T * C),
    dg = be.alloc(C),
    dbt = be.alloc(C);
  fillRandom(x, 4);
  g.fill(1);
  put(
    "layerNorm.fwd.T1600.ms",
    medianMs(() => be.layerNormForward(y, mean, rstd, x, g, bt, T, C, 1e-5), reps),
  );
  put(
    "layerNorm.bwd.T1600.ms",
    medianMs(() => be.layerNormBackward(dx, dg, dbt, x, x, g, mean, rstd, T, C), reps),
  );
  // 64 sentences of 25 rows, 20 real keys each
  const numSeqs = 64,
    L = 25;
  const seqs = be.allocInt(3 * numSeqs);
  for (let i = 0; i < numSeqs; i++) seqs.set([i * L, L, 20], 3 * i);
  const probs = be.alloc(numSeqs * L * L * H);
  const q = x,
    k = y,
    v = dx,
    o = be.alloc(T * C),
    dq = be.alloc(T * C),
    dk = be.alloc(T * C),
    dv = be.alloc(T * C);
  put(
    "attention.fwd.64x25.ms",
    medianMs(() => be.attentionForward(o, probs, q, k, v, seqs, numSeqs, T, C, H), reps),
  );
  put(
    "attention.bwd.64x25.ms",
    medianMs(() => be.attentionBackward(dq, dk, dv, o, probs, q, k, v, seqs, numSeqs, T, C, H), reps),
  );
  const R = 500,
    V = 25000;
  const logits = be.alloc(R * V),
    dlogits = be.alloc(R * V),
    losses = be.alloc(R),
    labels = be.allocInt(R);
  fillRandom(logits, 5);
  for (let r = 0; r < R; r++) labels[r] = (r * 7919) % V;
  put(
    "crossEntropy.R500.ms",
    medianMs(() => be.crossEntropy(losses, dlogits, logits, labels, R, V, 1 / R), reps),
  );
  const n = 7_700_000; // about the model's parameter count
  const p = be.alloc(n),
    gr = be.alloc(n),
    m = be.alloc(n),
    vv = be.alloc(n);
  fillRandom(gr, 6);
  put(
    "sumSquares.7.7M.ms",
    medianMs(() => be.sumSquares(gr, n), reps),
  );
  let step = 0;
  put(
    "adam.7.7M.ms",
    medianMs(
      () =>
        be.adamUpdate(
          p,
          gr,
          m,
          vv,
          n,
          { learningRate: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: ++step, gradScale: 1, weightDecay: 0 },
          null,
        ),
      reps,
    ),
  );
}

/**
 * Runs the benchmark and returns figures keyed `<backend>.<kernel>.<shape>.<what>` (GFLOP/s for
 * matrix products, `.ms` keys in milliseconds).
 *
 * @example
 *   const r = await runKernelBench({ quick: true, threads: 2 });
 *   r['wasm2.head.R500.fwd'];   // GFLOP/s of [500x128] @ [128x25000] on 2 threads
 */
export async function runKernelBench(opts: KernelBenchOptions = {}): Promise<Record<string, number>> {
  const quick = opts.quick ?? false;
  const print = opts.print ?? true;
  const reps = quick ? 3 : 7;
  const maxThreads = os.availableParallelism();
  const threadCounts = opts.threads ? [opts.threads] : [...new Set([1, maxThreads])];
  const heads = (quick ? [100, 500] : [100, 500, 1000]).map((R) => ({ name: `head.R${R}`, T: R, K: 128, N: 25000 }));
  const encoder: MatmulShape[] = [];
  for (const M of quick ? [640, 1600] : [640, 1000, 1600]) {
    for (const [K, N] of [
      [128, 128],
      [128, 256],
      [256, 128],
    ])
      encoder.push({ name: `linear.M${M}.${K}x${N}`, T: M, K, N });
  }
  const results: Record<string, number> = {};
  const run = (prefix: string, be: Backend, shapes: MatmulShape[], others: boolean, r: number): void => {
    const put = (k: string, v: number): void => {
      results[`${prefix}.${k}`] = Math.round(v * 100) / 100;
      if (print)
        console.error(
          `${prefix.padEnd(6)} ${k.padEnd(28)} ${v.toFixed(k.endsWith(".ms") ? 2 : 1).padStart(8)} ${k.endsWith(".ms") ? "ms" : "GFLOP/s"}`,
        );
    };
    for (const s of shapes) benchMatmul(be, s, r, put);
    if (others) benchOthers(be, r, put);
  };
  for (const threads of threadCounts) {
    const be = await createWasmBackend({ threads });
    try {
      run(`wasm${threads}`, be, [...heads, ...encoder], true, reps);
    } finally {
      be.dispose();
    }
  }
  // the reference, on the smallest shapes only (it runs at a few GFLOP/s)
  run("ts", new TsBackend(), [heads[0], ...encoder.slice(0, 3)], !quick, quick ? 1 : 3);
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const ti = args.indexOf("--threads");
  const threads = ti >= 0 ? Number(args[ti + 1]) : undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    console.error(`bench/kernels.ts: --threads expects a positive integer, got ${args[ti + 1]}`);
    process.exit(2);
  }
  setCliEngineFlags();
  // readable rows on stderr, one JSON line on stdout
  console.log(JSON.stringify(await runKernelBench({ quick: args.includes("--quick"), threads })));
}
