/**
 * The fast `Backend`: WebAssembly SIMD kernels (one file per kernel in wat/, assembled at build time) on one shared memory, spread
 * over worker threads. See backend.ts for the kernel contracts; this file only checks the arrays,
 * writes each job's arguments into the control block and starts the job on the thread pool.
 *
 * Every kernel runs in WebAssembly. Plain JavaScript does only small bookkeeping: argument checks
 * (label range, sequence table), adding sumSquares' chunk partials (at most 64 values, in chunk
 * order), zeroing rows that belong to no sequence, degenerate shapes with a zero dimension, and
 * copying (once) a decay mask that does not live in this backend's memory. Arguments are written by
 * name into the control block (the layouts are declared once, in kernels.ts, for this file and the
 * generators; job-args.ts checks that a call wrote every one): a kernel call allocates nothing.
 *
 * Threads: the main thread is thread 0 and works too; each kernel splits its work in contiguous
 * blocks (rows, columns of the product, (sequence, head) pairs, chunks) so that no two threads add
 * into the same element. Sums across rows (dgamma/dbeta, sumSquares) go through partials over a
 * fixed number of chunks, set by the size alone and added in chunk order, so every result has the
 * same bits whatever the thread count. Jobs under ~32k multiply-adds run on the main thread alone.
 *
 * @example
 *   const be = await createWasmBackend({ threads: 2 });
 *   const x = be.alloc(64 * 128), w = be.alloc(128 * 256), y = be.alloc(64 * 256);
 *   be.matmul(y, x, w, null, 64, 128, 256);   // y = x @ w
 *   be.dispose();                              // stops the workers
 */
import { dropoutScale, dropoutThreshold, type AdamHyper, type Backend } from "../backend.js";
import { checkAttention, checkDecayMask, checkLabels } from "../checks.js";
import { compileKernels, type CompileOptions } from "./compile.js";
import { SharedHeap } from "./heap.js";
import { createJobs, type Job, type Jobs, type KernelArgs } from "./job-args.js";
import { GEMM_MODE, type GemmMode, type KernelName } from "./kernels.js";
import { MAX_THREADS, PARTIALS_BYTES } from "./layout.js";
import { ThreadPool } from "./pool.js";
import { gemmScratchBytes, type GemmConfig } from "./tiles.js";
import { attentionScratchBytes } from "./tiles.js";
import { wasm } from "./wasm-api.js";
import { platform } from "../../platform/index.js";

/** Options of `createWasmBackend`. */
export interface WasmBackendOptions extends CompileOptions {
  /** Threads, the main one included (default: one per core, `platform().cpuCount()`). */
  threads?: number;
}

/** Arguments that both attention kernels take. */
type AttentionSizes = Pick<
  KernelArgs<"attentionForward">,
  "numSeqs" | "C" | "H" | "scratch" | "scratchStride" | "maxLD"
>;

/**
 * One matrix product, C[M,N] (= or +=) op(A) @ op(B): pointers are byte offsets into the shared
 * memory, leading dimensions (lda, ldb, ldc) in elements; see GEMM_MODE for what each mode computes.
 */
interface GemmCall {
  mode: GemmMode;
  A: number;
  lda: number;
  B: number;
  ldb: number;
  C: number;
  ldc: number;
  M: number;
  N: number;
  K: number;
  /** Row vector [N] added to every row of C (0 or absent: none). */
  bias?: number;
  /** weightGradient only: dbias[N] += the column sums of B (0 or absent: none). */
  dbias?: number;
  /** Add into C instead of overwriting it. Default false. */
  accumulate?: boolean;
  /** Split C between threads by columns (true) or by rows (false). */
  splitCols: boolean;
}

/** Jobs below this many multiply-adds run on the main thread alone (a dispatch costs ~2-20 us). */
const SMALL_JOB = 1 << 15;

class WasmBackend implements Backend {
  readonly name: string;
  readonly kernels: string;
  /** Every kernel's job: its arguments are written by name into the control block. */
  private readonly jobs: Jobs;
  private readonly partials: Float64Array;
  private scratch = 0;
  private scratchStride = 0;
  /** Chunk partials of layerNormBackward (2C floats per chunk). */
  private readonly lnPartials = { offset: 0, bytes: 0 };
  /** Copy of a decay mask from outside this memory, and the array it was copied from. */
  private readonly maskCopy = { offset: 0, bytes: 0 };
  private maskSource: Uint8Array | null = null;
  private maskCopied = 0;
  /** Results of the last `scanSeqs`. */
  private seqL2 = 0;
  private seqMaxL = 0;
  private seqRows = 0;

  constructor(
    private readonly heap: SharedHeap,
    private readonly pool: ThreadPool,
    private readonly gemm: GemmConfig,
    readonly fma: boolean,
  ) {
    const buf = heap.memory.buffer;
    this.jobs = createJobs(buf);
    this.partials = new Float64Array(buf, PARTIALS_BYTES, (4096 - PARTIALS_BYTES) / 8);
    this.kernels = fma ? "wasm-simd-fma" : "wasm-simd";
    this.name = `${this.kernels}x${pool.threads}`;
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

  /** A region of at least `bytes` bytes kept in `slot` (reserved again, larger, when too small). */
  private ensureRegion(slot: { offset: number; bytes: number }, bytes: number): number {
    if (bytes > slot.bytes) {
      slot.offset = this.heap.reserve(bytes);
      slot.bytes = bytes;
    }
    return slot.offset;
  }

  private nthFor(work: number): number {
    return work < SMALL_JOB ? 1 : this.threads;
  }

  /** Runs `job` on `nth` threads once every one of its arguments has been written. */
  private run<K extends KernelName>(job: Job<K>, nth: number): void {
    job.take();
    this.pool.run(job.op, nth);
  }

  /** Runs one matrix product (wat/gemm.ts), its arguments named as the kernel's. */
  private runGemm(g: GemmCall): void {
    const nth = this.nthFor(g.M * g.N * g.K);
    const rows = g.splitCols ? g.M : Math.ceil(Math.ceil(g.M / this.gemm.mr) / nth) * this.gemm.mr;
    const job = this.jobs.gemm;
    const a = job.args;
    a.scratch = this.ensureScratch(gemmScratchBytes(this.gemm, rows));
    a.scratchStride = this.scratchStride;
    a.mode = GEMM_MODE[g.mode];
    a.A = g.A;
    a.lda = g.lda;
    a.B = g.B;
    a.ldb = g.ldb;
    a.C = g.C;
    a.ldc = g.ldc;
    a.M = g.M;
    a.N = g.N;
    a.K = g.K;
    a.bias = g.bias ?? 0;
    a.dbias = g.dbias ?? 0;
    a.accumulate = g.accumulate ? 1 : 0;
    a.splitCols = g.splitCols ? 1 : 0;
    this.run(job, nth);
  }

  matmul(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    this.product("product", "matmul", out, inp, w, bias, T, K, N);
  }

  matmulTransposed(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    // the product of matmulBackward's dinp (B = w^T, read transposed while packing)
    this.product("productTransposedB", "matmulTransposed", out, inp, w, bias, T, K, N);
  }

  /** out[T,N] = inp[T,K] @ (w or w^T) + bias: `matmul` (w [K,N]) or `matmulTransposed` (w [N,K]). */
  private product(
    mode: "product" | "productTransposedB",
    name: string,
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    const h = this.heap;
    const pOut = h.offsetOf(out, `${name} out`, T * N);
    const pInp = h.offsetOf(inp, `${name} inp`, T * K);
    const pW = h.offsetOf(w, `${name} w`, K * N);
    const pBias = bias ? h.offsetOf(bias, `${name} bias`, N) : 0;
    if (T === 0 || N === 0) return;
    if (K === 0) {
      for (let t = 0; t < T; t++) for (let j = 0; j < N; j++) out[t * N + j] = bias ? bias[j] : 0;
      return;
    }
    // split by columns when rows are fewer (each thread then packs all of inp, T*K, not all of w, K*N)
    const ldb = mode === "product" ? N : K;
    this.runGemm({ mode, A: pInp, lda: K, B: pW, ldb, C: pOut, ldc: N, M: T, N, K, bias: pBias, splitCols: N > T });
  }

  matmulBackward(
    dinp: Float32Array | null,
    dw: Float32Array,
    dbias: Float32Array | null,
    dout: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    T: number,
    K: number,
    N: number,
    accumulateDinp = false,
  ): void {
    const h = this.heap;
    const pDinp = dinp ? h.offsetOf(dinp, "matmulBackward dinp", T * K) : 0;
    const pDw = h.offsetOf(dw, "matmulBackward dw", K * N);
    const pDbias = dbias ? h.offsetOf(dbias, "matmulBackward dbias", N) : 0;
    const pDout = h.offsetOf(dout, "matmulBackward dout", T * N);
    const pInp = h.offsetOf(inp, "matmulBackward inp", T * K);
    const pW = h.offsetOf(w, "matmulBackward w", K * N);
    if (T === 0 || K === 0 || N === 0) {
      // degenerate shapes (no kernel to run): dinp is zero (or unchanged), dw has no elements or gets nothing
      if (dinp && !accumulateDinp) dinp.fill(0, 0, T * K);
      if (dbias) for (let t = 0; t < T; t++) for (let j = 0; j < N; j++) dbias[j] += dout[t * N + j];
      return;
    }
    // dinp[T,K] = dout[T,N] @ w[K,N]^T. Splitting rows makes every thread pack all of w^T (K*N),
    // splitting columns makes every thread pack all of dout (T*N): split the side that packs less.
    if (dinp) {
      this.runGemm({
        mode: "productTransposedB",
        A: pDout,
        lda: N,
        B: pW,
        ldb: N,
        C: pDinp,
        ldc: K,
        M: T,
        N: K,
        K: N,
        accumulate: accumulateDinp,
        splitCols: K > T,
      });
    }
    // dw[K,N] += inp^T @ dout; dbias from the column sums of the packed dout panels
    this.runGemm({
      mode: "weightGradient",
      A: pInp,
      lda: K,
      B: pDout,
      ldb: N,
      C: pDw,
      ldc: N,
      M: K,
      N,
      K: T,
      dbias: pDbias,
      accumulate: true,
      splitCols: N >= K,
    });
  }

  layerNormForward(
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    inp: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    T: number,
    C: number,
    eps: number,
  ): void {
    const h = this.heap;
    const job = this.jobs.layerNormForward;
    const a = job.args;
    a.out = h.offsetOf(out, "layerNormForward out", T * C);
    a.mean = h.offsetOf(mean, "layerNormForward mean", T);
    a.rstd = h.offsetOf(rstd, "layerNormForward rstd", T);
    a.inp = h.offsetOf(inp, "layerNormForward inp", T * C);
    a.gamma = h.offsetOf(gamma, "layerNormForward gamma", C);
    a.beta = h.offsetOf(beta, "layerNormForward beta", C);
    a.T = T;
    a.C = C;
    a.eps = eps;
    this.run(job, this.nthFor(T * C * 4));
  }

  layerNormBackward(
    dinp: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dout: Float32Array,
    inp: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    T: number,
    C: number,
  ): void {
    const h = this.heap;
    const job = this.jobs.layerNormBackward;
    const a = job.args;
    a.dinp = h.offsetOf(dinp, "layerNormBackward dinp", T * C);
    const pDgamma = h.offsetOf(dgamma, "layerNormBackward dgamma", C);
    const pDbeta = h.offsetOf(dbeta, "layerNormBackward dbeta", C);
    a.dout = h.offsetOf(dout, "layerNormBackward dout", T * C);
    a.inp = h.offsetOf(inp, "layerNormBackward inp", T * C);
    a.gamma = h.offsetOf(gamma, "layerNormBackward gamma", C);
    a.mean = h.offsetOf(mean, "layerNormBackward mean", T);
    a.rstd = h.offsetOf(rstd, "layerNormBackward rstd", T);
    if (T === 0 || C === 0) return;
    // dgamma/dbeta: partial sums over a number of row chunks that depends on T only (never on the
    // thread count), added up in chunk order by a second job: the same bits for any thread count
    const chunks = lnChunks(T);
    const partials = this.ensureRegion(this.lnPartials, chunks * C * 8);
    a.T = T;
    a.C = C;
    a.partials = partials;
    a.chunks = chunks;
    this.run(job, this.nthFor(T * C * 8));
    const reduce = this.jobs.layerNormReduce;
    const r = reduce.args;
    r.dgamma = pDgamma;
    r.dbeta = pDbeta;
    r.C = C;
    r.partials = partials;
    r.chunks = chunks;
    this.run(reduce, 1);
  }

  /**
   * One pass over the sequence table (checked by checkAttention): seqL2 = sum of L^2, seqMaxL,
   * seqRows = sum of L.
   */
  private scanSeqs(seqs: Int32Array, numSeqs: number): void {
    let l2 = 0,
      maxL = 0,
      rows = 0;
    for (let i = 0; i < numSeqs; i++) {
      const L = seqs[3 * i + 1];
      l2 += L * L;
      rows += L;
      if (L > maxL) maxL = L;
    }
    this.seqL2 = l2;
    this.seqMaxL = maxL;
    this.seqRows = rows;
  }

  /** Writes the sizes and the per-thread scratch that both attention kernels take (after scanSeqs). */
  private attentionSizes(a: AttentionSizes, numSeqs: number, C: number, H: number): void {
    const D = C / H;
    a.numSeqs = numSeqs;
    a.C = C;
    a.H = H;
    a.scratch = this.ensureScratch(attentionScratchBytes(this.gemm, this.seqMaxL, D));
    a.scratchStride = this.scratchStride;
    a.maxLD = Math.max(this.seqMaxL, D, 1);
  }

  attentionForward(
    out: Float32Array,
    probs: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    seqs: Int32Array,
    numSeqs: number,
    T: number,
    C: number,
    H: number,
  ): void {
    const h = this.heap;
    checkAttention("attentionForward", seqs, numSeqs, T, C, H);
    const job = this.jobs.attentionForward;
    const a = job.args;
    a.seqs = h.offsetOf(seqs, "attentionForward seqs", 3 * numSeqs);
    this.scanSeqs(seqs, numSeqs);
    const probsLen = this.seqL2 * H;
    const D = C / H;
    a.out = h.offsetOf(out, "attentionForward out", T * C);
    a.probs = h.offsetOf(probs, "attentionForward probs", probsLen);
    a.q = h.offsetOf(q, "attentionForward q", T * C);
    a.k = h.offsetOf(k, "attentionForward k", T * C);
    a.v = h.offsetOf(v, "attentionForward v", T * C);
    this.attentionSizes(a, numSeqs, C, H);
    // rows outside every sequence are zero
    if (this.seqRows < T) out.fill(0, 0, T * C);
    this.run(job, this.nthFor(probsLen * D * 2));
  }

  attentionBackward(
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dout: Float32Array,
    probs: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    seqs: Int32Array,
    numSeqs: number,
    T: number,
    C: number,
    H: number,
  ): void {
    const h = this.heap;
    checkAttention("attentionBackward", seqs, numSeqs, T, C, H);
    const job = this.jobs.attentionBackward;
    const a = job.args;
    a.seqs = h.offsetOf(seqs, "attentionBackward seqs", 3 * numSeqs);
    this.scanSeqs(seqs, numSeqs);
    const probsLen = this.seqL2 * H;
    const D = C / H;
    a.dq = h.offsetOf(dq, "attentionBackward dq", T * C);
    a.dk = h.offsetOf(dk, "attentionBackward dk", T * C);
    a.dv = h.offsetOf(dv, "attentionBackward dv", T * C);
    a.dout = h.offsetOf(dout, "attentionBackward dout", T * C);
    a.probs = h.offsetOf(probs, "attentionBackward probs", probsLen);
    a.q = h.offsetOf(q, "attentionBackward q", T * C);
    a.k = h.offsetOf(k, "attentionBackward k", T * C);
    a.v = h.offsetOf(v, "attentionBackward v", T * C);
    this.attentionSizes(a, numSeqs, C, H);
    // rows outside every sequence get zero gradients
    if (this.seqRows < T) {
      dq.fill(0, 0, T * C);
      dk.fill(0, 0, T * C);
      dv.fill(0, 0, T * C);
    }
    this.run(job, this.nthFor(probsLen * D * 4));
  }

  crossEntropy(
    losses: Float32Array,
    dlogits: Float32Array | null,
    logits: Float32Array,
    labels: Int32Array,
    R: number,
    V: number,
    gradScale: number,
  ): void {
    const h = this.heap;
    const pLab = h.offsetOf(labels, "crossEntropy labels", R);
    checkLabels(labels, R, V);
    const job = this.jobs.crossEntropy;
    const a = job.args;
    a.losses = h.offsetOf(losses, "crossEntropy losses", R);
    a.dlogits = dlogits ? h.offsetOf(dlogits, "crossEntropy dlogits", R * V) : 0;
    a.logits = h.offsetOf(logits, "crossEntropy logits", R * V);
    a.labels = pLab;
    a.R = R;
    a.V = V;
    a.gradScale = gradScale;
    this.run(job, this.nthFor(R * V * 8));
  }

  sumSquares(x: Float32Array, n: number): number {
    const job = this.jobs.sumSquares;
    const a = job.args;
    a.x = this.heap.offsetOf(x, "sumSquares x", n);
    a.n = n;
    // partial sums over a number of chunks that depends on n only, added here in chunk order
    const chunks = sumSquaresChunks(n);
    a.chunks = chunks;
    this.run(job, this.nthFor(n));
    let s = 0;
    for (let c = 0; c < chunks; c++) s += this.partials[c];
    return s;
  }

  adamUpdate(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    hyper: AdamHyper,
    decayMask: Uint8Array | null,
  ): void {
    const h = this.heap;
    checkDecayMask(hyper.weightDecay, decayMask, n);
    let pMask = 0;
    if (decayMask && hyper.weightDecay > 0) {
      pMask = h.owns(decayMask) ? decayMask.byteOffset : this.maskIn(decayMask, n);
    }
    const job = this.jobs.adam;
    const a = job.args;
    a.params = h.offsetOf(params, "adamUpdate params", n);
    a.grads = h.offsetOf(grads, "adamUpdate grads", n);
    a.m = h.offsetOf(m, "adamUpdate m", n);
    a.v = h.offsetOf(v, "adamUpdate v", n);
    a.n = n;
    a.decayMask = pMask;
    const { learningRate, beta1, beta2, eps, step, gradScale, weightDecay } = hyper;
    a.learningRate = learningRate;
    a.beta1 = beta1;
    a.beta2 = beta2;
    a.eps = eps;
    a.bias1 = 1 - Math.pow(beta1, step);
    a.bias2 = 1 - Math.pow(beta2, step);
    a.gradScale = gradScale;
    a.weightDecay = weightDecay;
    this.run(job, this.nthFor(n * 4));
  }

  /**
   * Byte offset of a copy, in this memory, of a decay mask that lives elsewhere (Backend has no byte
   * allocator). Copied once per source array: a mask's contents are taken to be fixed once it has
   * been passed (pass a new array for another mask), so the update does not copy it every step.
   */
  private maskIn(mask: Uint8Array, n: number): number {
    if (mask !== this.maskSource || n > this.maskCopied) {
      const off = this.ensureRegion(this.maskCopy, n + 64);
      new Uint8Array(this.heap.memory.buffer, off, n).set(mask.subarray(0, n));
      this.maskSource = mask;
      this.maskCopied = n;
    }
    return this.maskCopy.offset;
  }

  scaleAdd(out: Float32Array, x: Float32Array, n: number, w: number, accumulate: boolean): void {
    const h = this.heap;
    const job = accumulate ? this.jobs.scaleAdd : this.jobs.scale;
    const a = job.args;
    a.out = h.offsetOf(out, "scaleAdd out", n);
    a.x = h.offsetOf(x, "scaleAdd x", n);
    a.n = n;
    a.scale = w;
    this.run(job, this.nthFor(n));
  }

  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void {
    const h = this.heap;
    const th = dropoutThreshold(p);
    const job = this.jobs.dropout;
    const a = job.args;
    a.out = h.offsetOf(out, "dropout out", n);
    a.inp = h.offsetOf(inp, "dropout inp", n);
    a.n = n;
    a.seed = seed;
    a.threshold = th;
    a.scale = dropoutScale(p);
    this.run(job, this.nthFor(th === 0 ? n : 4 * n));
  }

  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void {
    const h = this.heap;
    const th = dropoutThreshold(p);
    const job = this.jobs.addDropout;
    const g = job.args;
    g.out = h.offsetOf(out, "addDropout out", n);
    g.a = h.offsetOf(a, "addDropout a", n);
    g.b = h.offsetOf(b, "addDropout b", n);
    g.n = n;
    g.seed = seed;
    g.threshold = th;
    g.scale = dropoutScale(p);
    this.run(job, this.nthFor(th === 0 ? n : 4 * n));
  }

  reluDropout(x: Float32Array, n: number, p: number, seed: number): void {
    const th = dropoutThreshold(p);
    const job = this.jobs.reluDropout;
    const a = job.args;
    a.x = this.heap.offsetOf(x, "reluDropout x", n);
    a.n = n;
    a.seed = seed;
    a.threshold = th;
    a.scale = dropoutScale(p);
    this.run(job, this.nthFor(th === 0 ? n : 4 * n));
  }

  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
    const h = this.heap;
    const job = this.jobs.reluBackward;
    const a = job.args;
    a.d = h.offsetOf(d, "reluBackward d", n);
    a.y = h.offsetOf(y, "reluBackward y", n);
    a.n = n;
    a.scale = scale;
    this.run(job, this.nthFor(n));
  }

  gelu(out: Float32Array, inp: Float32Array, n: number): void {
    const job = this.jobs.gelu;
    const a = job.args;
    a.out = this.heap.offsetOf(out, "gelu out", n);
    a.inp = this.heap.offsetOf(inp, "gelu inp", n);
    a.n = n;
    this.run(job, this.nthFor(16 * n));
  }

  geluBackward(d: Float32Array, inp: Float32Array, n: number): void {
    const job = this.jobs.geluBackward;
    const a = job.args;
    a.d = this.heap.offsetOf(d, "geluBackward d", n);
    a.inp = this.heap.offsetOf(inp, "geluBackward inp", n);
    a.n = n;
    this.run(job, this.nthFor(16 * n));
  }

  embeddingForward(
    out: Float32Array,
    ids: Int32Array,
    positions: Int32Array,
    table: Float32Array,
    pe: Float32Array,
    T: number,
    C: number,
    scale: number,
  ): void {
    const h = this.heap;
    const job = this.jobs.embeddingForward;
    const a = job.args;
    // table and pe: only their start is checked (rows are not, as in TsBackend)
    a.out = h.offsetOf(out, "embeddingForward out", T * C);
    a.ids = h.offsetOf(ids, "embeddingForward ids", T);
    a.positions = h.offsetOf(positions, "embeddingForward positions", T);
    a.table = h.offsetOf(table, "embeddingForward table", C);
    a.pe = h.offsetOf(pe, "embeddingForward pe", C);
    a.T = T;
    a.C = C;
    a.scale = scale;
    this.run(job, this.nthFor(T * C));
  }

  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
    const h = this.heap;
    const job = this.jobs.gatherRows;
    const a = job.args;
    a.out = h.offsetOf(out, "gatherRows out", R * C);
    a.inp = h.offsetOf(inp, "gatherRows inp", C);
    a.rows = h.offsetOf(rows, "gatherRows rows", R);
    a.R = R;
    a.C = C;
    this.run(job, this.nthFor(R * C));
  }

  scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number, scale: number): void {
    const h = this.heap;
    const job = this.jobs.scatterAddRows;
    const a = job.args;
    a.dinp = h.offsetOf(dinp, "scatterAddRows dinp", C);
    a.dout = h.offsetOf(dout, "scatterAddRows dout", R * C);
    a.rows = h.offsetOf(rows, "scatterAddRows rows", R);
    a.R = R;
    a.C = C;
    a.scale = scale;
    // columns are split: give each thread at least a few vectors of every row
    this.run(job, C >= 16 ? this.nthFor(R * C) : 1);
  }

  dispose(): void {
    this.pool.dispose();
  }
}

/** Row chunks of layerNormBackward's dgamma/dbeta partials: about 8 rows each, at most 64 (T >= 1). */
function lnChunks(T: number): number {
  return Math.min(64, Math.ceil(T / 8));
}

/** Chunks of sumSquares: about 1024 elements each, at most 64, at least 1. */
function sumSquaresChunks(n: number): number {
  return Math.max(1, Math.min(64, Math.ceil(n / 1024)));
}

/**
 * Creates the WebAssembly SIMD backend: compiles the kernels (relaxed fused multiply-add when the
 * runtime supports it) and starts `threads - 1` worker threads. Workers are unref'ed, so a process
 * can exit without `dispose()`; call `dispose()` to stop them earlier.
 *
 * @example
 *   const be = await createWasmBackend();           // one thread per core
 *   const a = be.alloc(6), b = be.alloc(6), c = be.alloc(4);
 *   a.set([1, 2, 3, 4, 5, 6]); b.set([1, 0, 0, 1, 1, 1]);
 *   be.matmul(c, a, b, null, 2, 3, 2);              // c = [4, 5, 10, 11]
 */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<Backend> {
  const threads = opts.threads ?? platform().cpuCount();
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
