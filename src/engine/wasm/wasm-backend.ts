/**
 * The fast `Backend`: WebAssembly SIMD kernels (generated in wat-*.ts) on one shared memory, spread
 * over worker threads. See backend.ts for the kernel contracts; this file only checks the arrays,
 * writes each job's arguments into the control block and starts the job on the thread pool.
 *
 * Every kernel runs in WebAssembly. Plain JavaScript does only small bookkeeping: argument checks
 * (label range, sequence table), adding the per-thread partial sums of dgamma/dbeta and of
 * sumSquares (C * threads and `threads` values, in thread order), zeroing rows that belong to no
 * sequence, degenerate shapes with a zero dimension, and copying a decay mask that does not live in
 * this backend's memory.
 *
 * Threads: the main thread is thread 0 and works too; each kernel splits its work in contiguous
 * blocks (rows, columns of the product, (sequence, head) pairs, chunks) so that no two threads add
 * into the same element: results are the same for the same thread count (products do not even depend
 * on it). Jobs under ~32k multiply-adds run on the main thread alone.
 *
 * @example
 *   const be = await createWasmBackend({ threads: 2 });
 *   const x = be.alloc(64 * 128), w = be.alloc(128 * 256), y = be.alloc(64 * 256);
 *   be.matmul(y, x, w, null, 64, 128, 256);   // y = x @ w
 *   be.dispose();                              // stops the workers
 */
import os from 'node:os';
import { dropoutScale, dropoutThreshold, type AdamHyper, type Backend } from '../backend.js';
import { compileKernels, type CompileOptions } from './compile.js';
import { SharedHeap } from './heap.js';
import { ARG_F64, ARG_I32, MAX_THREADS, Op, PARTIALS_BYTES } from './layout.js';
import { ThreadPool } from './pool.js';
import { gemmScratchBytes, type GemmConfig } from './wat-gemm.js';
import { attentionScratchBytes } from './wat-attention.js';
import { wasm } from './wasm-api.js';

/** Options of `createWasmBackend`. */
export interface WasmBackendOptions extends CompileOptions {
  /** Threads, the main one included (default: os.availableParallelism()). */
  threads?: number;
}

/** Jobs below this many multiply-adds run on the main thread alone (a dispatch costs ~2-20 us). */
const SMALL_JOB = 1 << 15;

class WasmBackend implements Backend {
  readonly name: string;
  private readonly argI: Int32Array;
  private readonly argF: Float64Array;
  private readonly partials: Float64Array;
  private scratch = 0;
  private scratchStride = 0;

  constructor(
    private readonly heap: SharedHeap,
    private readonly pool: ThreadPool,
    private readonly gemm: GemmConfig,
    readonly fma: boolean,
  ) {
    const buf = heap.memory.buffer;
    this.argI = new Int32Array(buf, 0, 64);
    this.argF = new Float64Array(buf, 0, 128);
    this.partials = new Float64Array(buf, PARTIALS_BYTES, (4096 - PARTIALS_BYTES) / 8);
    this.name = `wasm-simd${fma ? '-fma' : ''}x${pool.threads}`;
  }

  get threads(): number {
    return this.pool.threads;
  }

  alloc(n: number): Float32Array {
    return this.heap.f32(n);
  }

  allocInt(n: number): Int32Array {
    return this.heap.i32(n);
  }

  /** Per-thread scratch of at least `bytes` bytes; returns its base (stride in `scratchStride`). */
  private ensureScratch(bytes: number): number {
    if (bytes > this.scratchStride) {
      const stride = (Math.ceil(bytes * 1.25) + 63) & ~63;
      this.scratch = this.heap.reserve(stride * this.threads);
      this.scratchStride = stride;
    }
    return this.scratch;
  }

  private nthFor(work: number): number {
    return work < SMALL_JOB ? 1 : this.threads;
  }

  private setI(values: number[]): void {
    const a = this.argI;
    for (let i = 0; i < values.length; i++) a[ARG_I32 + i] = values[i];
  }

  private setF(values: number[]): void {
    const a = this.argF;
    for (let i = 0; i < values.length; i++) a[ARG_F64 + i] = values[i];
  }

  /** Broadcast-form product, see wat-gemm.ts for the modes. */
  private runGemm(mode: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number,
    M: number, N: number, K: number, bias: number, dbias: number, accumulate: boolean, splitCols: boolean): void {
    const nth = this.nthFor(M * N * K);
    const rows = splitCols ? M : Math.ceil(Math.ceil(M / this.gemm.mr) / nth) * this.gemm.mr;
    const base = this.ensureScratch(gemmScratchBytes(this.gemm, rows));
    this.setI([mode, A, lda, B, ldb, C, ldc, M, N, K, bias, dbias, accumulate ? 1 : 0, splitCols ? 1 : 0, base, this.scratchStride]);
    this.pool.run(Op.gemm, nth);
  }

  matmul(out: Float32Array, inp: Float32Array, w: Float32Array, bias: Float32Array | null, T: number, K: number, N: number): void {
    const h = this.heap;
    const pOut = h.offsetOf(out, 'matmul out', T * N);
    const pInp = h.offsetOf(inp, 'matmul inp', T * K);
    const pW = h.offsetOf(w, 'matmul w', K * N);
    const pBias = bias ? h.offsetOf(bias, 'matmul bias', N) : 0;
    if (T === 0 || N === 0) return;
    if (K === 0) {
      for (let t = 0; t < T; t++) for (let j = 0; j < N; j++) out[t * N + j] = bias ? bias[j] : 0;
      return;
    }
    // split by columns when rows are fewer (each thread then packs all of inp, T*K, not all of w, K*N)
    this.runGemm(0, pInp, K, pW, N, pOut, N, T, N, K, pBias, 0, false, N > T);
  }

  matmulBackward(dinp: Float32Array | null, dw: Float32Array, dbias: Float32Array | null, dout: Float32Array,
    inp: Float32Array, w: Float32Array, T: number, K: number, N: number, accumulateDinp = false): void {
    const h = this.heap;
    const pDinp = dinp ? h.offsetOf(dinp, 'matmulBackward dinp', T * K) : 0;
    const pDw = h.offsetOf(dw, 'matmulBackward dw', K * N);
    const pDbias = dbias ? h.offsetOf(dbias, 'matmulBackward dbias', N) : 0;
    const pDout = h.offsetOf(dout, 'matmulBackward dout', T * N);
    const pInp = h.offsetOf(inp, 'matmulBackward inp', T * K);
    const pW = h.offsetOf(w, 'matmulBackward w', K * N);
    if (T === 0 || K === 0 || N === 0) {
      // degenerate shapes (no kernel to run): dinp is zero (or unchanged), dw has no elements or gets nothing
      if (dinp && !accumulateDinp) dinp.fill(0, 0, T * K);
      if (dbias) for (let t = 0; t < T; t++) for (let j = 0; j < N; j++) dbias[j] += dout[t * N + j];
      return;
    }
    // dinp[T,K] = dout[T,N] @ w[K,N]^T. Splitting rows makes every thread pack all of w^T (K*N),
    // splitting columns makes every thread pack all of dout (T*N): split the side that packs less.
    if (dinp) this.runGemm(2, pDout, N, pW, N, pDinp, K, T, K, N, 0, 0, accumulateDinp, K > T);
    // dw[K,N] += inp^T @ dout; dbias from the column sums of the packed dout panels
    this.runGemm(1, pInp, K, pDout, N, pDw, N, K, N, T, 0, pDbias, true, N >= K);
  }

  layerNormForward(out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array, gamma: Float32Array, beta: Float32Array, T: number, C: number, eps: number): void {
    const h = this.heap;
    this.setI([
      h.offsetOf(out, 'layerNormForward out', T * C), h.offsetOf(mean, 'layerNormForward mean', T), h.offsetOf(rstd, 'layerNormForward rstd', T),
      h.offsetOf(inp, 'layerNormForward inp', T * C), h.offsetOf(gamma, 'layerNormForward gamma', C), h.offsetOf(beta, 'layerNormForward beta', C), T, C,
    ]);
    this.setF([eps]);
    this.pool.run(Op.layerNormForward, this.nthFor(T * C * 4));
  }

  layerNormBackward(dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array, inp: Float32Array,
    gamma: Float32Array, mean: Float32Array, rstd: Float32Array, T: number, C: number): void {
    const h = this.heap;
    const nth = this.nthFor(T * C * 8);
    // per-thread partial sums of dgamma and dbeta (2C floats each), added up here in thread order
    const base = this.ensureScratch(C * 8 + 64);
    this.setI([
      h.offsetOf(dinp, 'layerNormBackward dinp', T * C), h.offsetOf(dgamma, 'layerNormBackward dgamma', C), h.offsetOf(dbeta, 'layerNormBackward dbeta', C),
      h.offsetOf(dout, 'layerNormBackward dout', T * C), h.offsetOf(inp, 'layerNormBackward inp', T * C), h.offsetOf(gamma, 'layerNormBackward gamma', C),
      h.offsetOf(mean, 'layerNormBackward mean', T), h.offsetOf(rstd, 'layerNormBackward rstd', T), T, C, base, this.scratchStride,
    ]);
    this.pool.run(Op.layerNormBackward, nth);
    const f = new Float32Array(this.heap.memory.buffer, base, (this.scratchStride * nth) / 4);
    const stride = this.scratchStride / 4;
    for (let t = 0; t < nth; t++) {
      for (let c = 0; c < C; c++) {
        dgamma[c] += f[t * stride + c];
        dbeta[c] += f[t * stride + C + c];
      }
    }
  }

  /** Per-thread scratch for attention over these sequences; returns [base, max(maxL, D)]. */
  private attentionScratch(seqs: Int32Array, numSeqs: number, D: number): [number, number] {
    let maxL = 0;
    for (let i = 0; i < numSeqs; i++) maxL = Math.max(maxL, seqs[3 * i + 1]);
    return [this.ensureScratch(attentionScratchBytes(this.gemm, maxL, D)), Math.max(maxL, D, 1)];
  }

  attentionForward(out: Float32Array, probs: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, seqs: Int32Array, numSeqs: number, T: number, C: number, H: number): void {
    const h = this.heap;
    if (!(H > 0 && C % H === 0)) throw new Error(`wasm backend: attentionForward C=${C} is not a multiple of H=${H}`);
    const pSeqs = h.offsetOf(seqs, 'attentionForward seqs', 3 * numSeqs);
    const probsLen = checkSeqs(seqs, numSeqs, T, 'attentionForward') * H;
    const args = [
      h.offsetOf(out, 'attentionForward out', T * C), h.offsetOf(probs, 'attentionForward probs', probsLen), h.offsetOf(q, 'attentionForward q', T * C),
      h.offsetOf(k, 'attentionForward k', T * C), h.offsetOf(v, 'attentionForward v', T * C), pSeqs, numSeqs, C, H,
    ];
    const [base, lm] = this.attentionScratch(seqs, numSeqs, C / H);
    this.setI([...args, base, this.scratchStride, lm]);
    // rows outside every sequence are zero
    if (sumRows(seqs, numSeqs) < T) out.fill(0, 0, T * C);
    this.pool.run(Op.attentionForward, this.nthFor(probsLen * (C / H) * 2));
  }

  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, probs: Float32Array, q: Float32Array, k: Float32Array,
    v: Float32Array, seqs: Int32Array, numSeqs: number, T: number, C: number, H: number): void {
    const h = this.heap;
    if (!(H > 0 && C % H === 0)) throw new Error(`wasm backend: attentionBackward C=${C} is not a multiple of H=${H}`);
    const pSeqs = h.offsetOf(seqs, 'attentionBackward seqs', 3 * numSeqs);
    const probsLen = checkSeqs(seqs, numSeqs, T, 'attentionBackward') * H;
    const args = [
      h.offsetOf(dq, 'attentionBackward dq', T * C), h.offsetOf(dk, 'attentionBackward dk', T * C), h.offsetOf(dv, 'attentionBackward dv', T * C),
      h.offsetOf(dout, 'attentionBackward dout', T * C), h.offsetOf(probs, 'attentionBackward probs', probsLen), h.offsetOf(q, 'attentionBackward q', T * C),
      h.offsetOf(k, 'attentionBackward k', T * C), h.offsetOf(v, 'attentionBackward v', T * C), pSeqs, numSeqs, C, H,
    ];
    const [base, lm] = this.attentionScratch(seqs, numSeqs, C / H);
    this.setI([...args, base, this.scratchStride, lm]);
    // rows outside every sequence get zero gradients
    if (sumRows(seqs, numSeqs) < T) { dq.fill(0, 0, T * C); dk.fill(0, 0, T * C); dv.fill(0, 0, T * C); }
    this.pool.run(Op.attentionBackward, this.nthFor(probsLen * (C / H) * 4));
  }

  crossEntropy(losses: Float32Array, dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array, R: number, V: number, gradScale: number): void {
    const h = this.heap;
    const pLab = h.offsetOf(labels, 'crossEntropy labels', R);
    for (let r = 0; r < R; r++) {
      if (labels[r] >= V) throw new Error(`wasm backend: crossEntropy label ${labels[r]} at row ${r} is out of range [0, ${V})`);
    }
    this.setI([h.offsetOf(losses, 'crossEntropy losses', R), dlogits ? h.offsetOf(dlogits, 'crossEntropy dlogits', R * V) : 0,
      h.offsetOf(logits, 'crossEntropy logits', R * V), pLab, R, V]);
    this.setF([gradScale]);
    this.pool.run(Op.crossEntropy, this.nthFor(R * V * 8));
  }

  sumSquares(x: Float32Array, n: number): number {
    const p = this.heap.offsetOf(x, 'sumSquares x', n);
    const nth = this.nthFor(n);
    this.setI([p, n]);
    this.pool.run(Op.sumSquares, nth);
    let s = 0;
    for (let t = 0; t < nth; t++) s += this.partials[t];
    return s;
  }

  adamUpdate(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number, hyper: AdamHyper, decayMask: Uint8Array | null): void {
    const h = this.heap;
    if (hyper.weightDecay > 0 && !decayMask) throw new Error('wasm backend: adamUpdate with weightDecay > 0 needs a decayMask');
    let pMask = 0;
    if (decayMask && hyper.weightDecay > 0) {
      if (decayMask.length < n) throw new Error(`wasm backend: adamUpdate decayMask has ${decayMask.length} elements, expected at least ${n}`);
      // masks may come from anywhere (Backend has no byte allocator): copy foreign ones in
      if (h.owns(decayMask)) pMask = decayMask.byteOffset;
      else {
        pMask = this.ensureMaskCopy(n);
        new Uint8Array(h.memory.buffer, pMask, n).set(decayMask.subarray(0, n));
      }
    }
    this.setI([h.offsetOf(params, 'adamUpdate params', n), h.offsetOf(grads, 'adamUpdate grads', n), h.offsetOf(m, 'adamUpdate m', n),
      h.offsetOf(v, 'adamUpdate v', n), n, pMask]);
    const { lr, beta1, beta2, eps, step, gradScale, weightDecay } = hyper;
    this.setF([lr, beta1, beta2, eps, 1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step), gradScale, weightDecay]);
    this.pool.run(Op.adam, this.nthFor(n * 4));
  }

  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
    const h = this.heap;
    this.setI([h.offsetOf(out, 'add out', n), h.offsetOf(a, 'add a', n), h.offsetOf(b, 'add b', n), n]);
    this.pool.run(Op.add, this.nthFor(n));
  }

  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void {
    const h = this.heap;
    const th = dropoutThreshold(p);
    this.setI([h.offsetOf(out, 'dropout out', n), h.offsetOf(inp, 'dropout inp', n), n, seed, th]);
    this.setF([dropoutScale(p)]);
    this.pool.run(Op.dropout, this.nthFor(th === 0 ? n : 4 * n));
  }

  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void {
    const h = this.heap;
    const th = dropoutThreshold(p);
    this.setI([h.offsetOf(out, 'addDropout out', n), h.offsetOf(a, 'addDropout a', n), h.offsetOf(b, 'addDropout b', n), n, seed, th]);
    this.setF([dropoutScale(p)]);
    this.pool.run(Op.addDropout, this.nthFor(th === 0 ? n : 4 * n));
  }

  reluDropout(x: Float32Array, n: number, p: number, seed: number): void {
    const th = dropoutThreshold(p);
    this.setI([this.heap.offsetOf(x, 'reluDropout x', n), n, seed, th]);
    this.setF([dropoutScale(p)]);
    this.pool.run(Op.reluDropout, this.nthFor(th === 0 ? n : 4 * n));
  }

  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
    const h = this.heap;
    this.setI([h.offsetOf(d, 'reluBackward d', n), h.offsetOf(y, 'reluBackward y', n), n]);
    this.setF([scale]);
    this.pool.run(Op.reluBackward, this.nthFor(n));
  }

  embeddingForward(out: Float32Array, ids: Int32Array, positions: Int32Array, table: Float32Array, pe: Float32Array, T: number, C: number, scale: number): void {
    const h = this.heap;
    // table and pe: only their start is checked (rows are not, as in TsBackend)
    this.setI([h.offsetOf(out, 'embeddingForward out', T * C), h.offsetOf(ids, 'embeddingForward ids', T), h.offsetOf(positions, 'embeddingForward positions', T),
      h.offsetOf(table, 'embeddingForward table', C), h.offsetOf(pe, 'embeddingForward pe', C), T, C]);
    this.setF([scale]);
    this.pool.run(Op.embeddingForward, this.nthFor(T * C));
  }

  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
    const h = this.heap;
    this.setI([h.offsetOf(out, 'gatherRows out', R * C), h.offsetOf(inp, 'gatherRows inp', C), h.offsetOf(rows, 'gatherRows rows', R), R, C]);
    this.pool.run(Op.gatherRows, this.nthFor(R * C));
  }

  scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number, scale: number): void {
    const h = this.heap;
    this.setI([h.offsetOf(dinp, 'scatterAddRows dinp', C), h.offsetOf(dout, 'scatterAddRows dout', R * C), h.offsetOf(rows, 'scatterAddRows rows', R), R, C]);
    this.setF([scale]);
    // columns are split: give each thread at least a few vectors of every row
    this.pool.run(Op.scatterAddRows, C >= 16 ? this.nthFor(R * C) : 1);
  }

  private maskCopy = 0;
  private maskCopyLen = 0;
  private ensureMaskCopy(n: number): number {
    if (n > this.maskCopyLen) {
      this.maskCopy = this.heap.reserve(n + 64);
      this.maskCopyLen = n;
    }
    return this.maskCopy;
  }

  dispose(): void {
    this.pool.dispose();
  }
}

/** Validates the sequence table; returns sum of L^2 (the size of one head's probs blocks). */
function checkSeqs(seqs: Int32Array, numSeqs: number, T: number, what: string): number {
  let total = 0;
  for (let i = 0; i < numSeqs; i++) {
    const start = seqs[3 * i], L = seqs[3 * i + 1], K = seqs[3 * i + 2];
    if (start < 0 || L < 0 || start + L > T || K < 0 || K > L) {
      throw new Error(`wasm backend: ${what} seqs[${i}] = (start ${start}, L ${L}, K ${K}) is outside T=${T} or has K > L`);
    }
    total += L * L;
  }
  return total;
}

function sumRows(seqs: Int32Array, numSeqs: number): number {
  let s = 0;
  for (let i = 0; i < numSeqs; i++) s += seqs[3 * i + 1];
  return s;
}

/**
 * Creates the WebAssembly SIMD backend: compiles the kernels (relaxed fused multiply-add when the
 * runtime supports it) and starts `threads - 1` worker threads. Workers are unref'ed, so a process
 * can exit without `dispose()`; call `dispose()` to stop them earlier.
 *
 * @example
 *   const be = await createWasmBackend();           // os.availableParallelism() threads
 *   const a = be.alloc(6), b = be.alloc(6), c = be.alloc(4);
 *   a.set([1, 2, 3, 4, 5, 6]); b.set([1, 0, 0, 1, 1, 1]);
 *   be.matmul(c, a, b, null, 2, 3, 2);              // c = [4, 5, 10, 11]
 */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<Backend> {
  const threads = opts.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new Error(`wasm backend: threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
  }
  const { module, fma, gemm } = await compileKernels(opts);
  const heap = new SharedHeap();
  const instance = await wasm.instantiate(module, { env: { memory: heap.memory, log: Math.log } });
  const task = instance.exports.task as (tid: number, nth: number) => void;
  const pool = await ThreadPool.create(module, heap.memory, task, threads);
  return new WasmBackend(heap, pool, gemm, fma);
}
