/**
 * The WebGPU implementation of `Backend`: every kernel in WGSL (kernels/, one file per family, each
 * naming its reference in ts-backend.ts), recorded in call order and run on the GPU at `flush`.
 *
 * Memory: one storage buffer, the heap, holds every array; `alloc` returns a GpuArray (gpu-array.ts)
 * whose CPU copy mirrors its range. Parameters, gradients, Adam's moments and activations stay on the
 * GPU: the CPU copy is only refreshed by `read`. Integer inputs (ids, labels, rows, the sequence
 * table) are plain Int32Arrays, copied at each call into a per-submission buffer, so a caller may
 * change them between calls as it does on the CPU backends.
 *
 * Asynchrony: WebGPU cannot wait for the GPU inside a synchronous call, so the kernels of a training
 * step are recorded (recorder.ts), and `flush` submits them as one command buffer (one compute pass,
 * split only by uploads) and reads back the only values a step needs: the sum of the row losses of every
 * `crossEntropy` since the last flush, and the gradient norm of `clippedAdamUpdate`. Consequences
 * for code written against `Backend`: values a kernel wrote read as stale on the CPU until `read`
 * (the model's own loss sum, read on the CPU, is not the step's loss: take `flush().lossSum`);
 * `sumSquares` cannot answer synchronously and throws (`clippedAdamUpdate` clips on the GPU).
 */
/// <reference types="@webgpu/types" />
import { dropoutScale, dropoutThreshold, GELU_A, GELU_B, type AdamHyper, type Backend } from "../backend.js";
import { checkAttention, checkDecayMask, checkLabels } from "../checks.js";
import { openWebGpu, type WebGpuDevice } from "./device.js";
import { CommandRecorder, type FlushResult } from "./recorder.js";
export type { FlushResult } from "./recorder.js";
import { GpuArray, newGpuArray, ownerOf, type GpuArrayOwner } from "./gpu-array.js";
import { ADAM } from "./kernels/adam.js";
import { ATTENTION_BACKWARD_KEY, ATTENTION_BACKWARD_QUERY, ATTENTION_FORWARD } from "./kernels/attention.js";
import { CROSS_ENTROPY_GRAD, CROSS_ENTROPY_ROWS } from "./kernels/cross-entropy.js";
import {
  ADD_DROPOUT,
  DROPOUT,
  FILL,
  GELU,
  GELU_BACKWARD,
  RELU_BACKWARD,
  RELU_DROPOUT,
  SCALE_ADD,
} from "./kernels/elementwise.js";
import { LAYER_NORM_BACKWARD_INPUT, LAYER_NORM_BACKWARD_PARAMS, LAYER_NORM_FORWARD } from "./kernels/layernorm.js";
import { BIAS_GRAD, MATMUL, MATMUL_TILE } from "./kernels/matmul.js";
import { NONE } from "./kernels/prelude.js";
import { EMBEDDING, GATHER, SCATTER_ADD } from "./kernels/rows.js";

/**
 * @example
 *   const be = await createWebGpuBackend(); // in a page served from https or localhost
 *   const x = be.alloc(6), w = be.alloc(12), y = be.alloc(8);
 *   x.set([1, 2, 3, 4, 5, 6]); w.fill(0.5);
 *   be.matmul(y, x, w, null, 2, 3, 4);
 *   await be.read([y]); // y = [3, 3, 3, 3, 7.5, 7.5, 7.5, 7.5]
 */
export class WebGpuBackend implements Backend, GpuArrayOwner {
  readonly name: string;
  readonly kernels = "webgpu";
  readonly threads = 1;
  private readonly rec: CommandRecorder;
  /** Heap offset (in floats) of each array's buffer. */
  private readonly bases = new WeakMap<ArrayBufferLike, number>();
  private readonly masks = new WeakMap<Uint8Array, number>();

  constructor(gpu: WebGpuDevice) {
    this.name = `webgpu (${gpu.adapter})`;
    this.rec = new CommandRecorder(gpu.device);
  }

  // ---- memory ----

  alloc(n: number): Float32Array {
    const array = newGpuArray(this, n);
    this.bases.set(array.buffer, this.rec.region(n));
    return array;
  }

  allocInt(n: number): Int32Array {
    return new Int32Array(n);
  }

  /** The heap offset (in floats) of an array from `alloc` (or a subarray of one). */
  private at(view: Float32Array): number {
    const base = this.bases.get(view.buffer);
    if (base === undefined || ownerOf(view) !== this)
      throw new Error("WebGpuBackend: an array that does not come from this backend's alloc");
    return base + view.byteOffset / 4;
  }

  filled(view: GpuArray, start: number, end: number, value: number): void {
    this.rec.dispatch1d(FILL, [this.at(view) + start, end - start], [value], end - start);
  }

  written(view: GpuArray, start: number, end: number): void {
    const bytes = new Uint8Array(view.buffer, view.byteOffset + start * 4, (end - start) * 4);
    this.rec.upload(bytes, (this.at(view) + start) * 4);
  }

  /** Sends the CPU copy of `view` to the GPU, after writes element by element (e.g. a random init). */
  upload(view: Float32Array): void {
    if (!(view instanceof GpuArray)) throw new Error("WebGpuBackend.upload: not an array of this backend");
    this.written(view, 0, view.length);
  }

  /**
   * Runs what was recorded, then copies the GPU's values of `views` into their CPU copies.
   * @returns the flush's result (see `flush`)
   */
  async read(views: Float32Array[]): Promise<FlushResult> {
    return this.rec.submit(views.map((view) => ({ view, at: this.at(view) })));
  }

  /** Runs every recorded kernel (one submission) and returns the values it read back. */
  async flush(): Promise<FlushResult> {
    return this.rec.submit([]);
  }

  // ---- kernels ----

  matmul(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    this.gemm(out, N, false, bias, inp, K, 1, w, N, 1, T, N, K);
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
    this.gemm(out, N, false, bias, inp, K, 1, w, 1, K, T, N, K);
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
    if (dinp !== null) this.gemm(dinp, K, accumulateDinp, null, dout, N, 1, w, 1, N, T, K, N);
    this.gemm(dw, N, true, null, inp, 1, K, dout, N, 1, K, N, T);
    if (dbias !== null) this.rec.dispatch1d(BIAS_GRAD, [this.at(dbias), this.at(dout), T, N], [], N);
  }

  /** The strided product of kernels/matmul.ts (the arguments of gemm.ts, with a bias). */
  private gemm(
    c: Float32Array,
    ldc: number,
    accumulate: boolean,
    bias: Float32Array | null,
    a: Float32Array,
    aRow: number,
    aP: number,
    b: Float32Array,
    bP: number,
    bCol: number,
    M: number,
    N: number,
    P: number,
  ): void {
    const u = [this.at(c), ldc, accumulate ? 1 : 0, bias === null ? NONE : this.at(bias)];
    u.push(this.at(a), aRow, aP, this.at(b), bP, bCol, M, N, P);
    this.rec.dispatch(MATMUL, u, [], Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE));
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
    const u = [this.at(out), this.at(mean), this.at(rstd), this.at(inp), this.at(gamma), this.at(beta), T, C];
    this.rec.dispatch1d(LAYER_NORM_FORWARD, u, [eps], T);
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
    const stats = [this.at(inp), this.at(mean), this.at(rstd), T, C];
    this.rec.dispatch1d(LAYER_NORM_BACKWARD_PARAMS, [this.at(dgamma), this.at(dbeta), this.at(dout), ...stats], [], C);
    const u = [this.at(dinp), this.at(dout), this.at(inp), this.at(gamma), this.at(mean), this.at(rstd), T, C];
    this.rec.dispatch1d(LAYER_NORM_BACKWARD_INPUT, u, [], T);
  }

  /**
   * The row table of kernels/attention.ts in the integer buffer (first row, L, K, offset of the
   * sequence's weights, per packed row); returns its offset and the weights' total size.
   */
  private attentionRows(seqs: Int32Array, numSeqs: number, T: number, H: number): { rows: number; probs: number } {
    const table = new Int32Array(4 * T);
    let base = 0;
    for (let s = 0; s < numSeqs; s++) {
      const start = seqs[3 * s];
      const L = seqs[3 * s + 1];
      for (let i = 0; i < L; i++) table.set([start, L, seqs[3 * s + 2], base], 4 * (start + i));
      base += L * L * H;
    }
    return { rows: this.rec.intArgs(table, 4 * T), probs: base };
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
    checkAttention("attentionForward", seqs, numSeqs, T, C, H);
    const D = C / H;
    const { rows } = this.attentionRows(seqs, numSeqs, T, H);
    const u = [this.at(out), this.at(probs), this.at(q), this.at(k), this.at(v), rows, T, C, H, D];
    this.rec.dispatch1d(ATTENTION_FORWARD, u, [1 / Math.sqrt(D)], T * H);
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
    checkAttention("attentionBackward", seqs, numSeqs, T, C, H);
    const D = C / H;
    const table = this.attentionRows(seqs, numSeqs, T, H);
    const u = [this.at(dq), this.at(dk), this.at(dv), this.at(dout), this.at(probs), this.at(q), this.at(k)];
    u.push(this.at(v), this.rec.scratch("attention", table.probs), table.rows, T, C, H, D);
    const f = [1 / Math.sqrt(D)];
    this.rec.dispatch1d(ATTENTION_BACKWARD_QUERY, u, f, T * H);
    this.rec.dispatch1d(ATTENTION_BACKWARD_KEY, u, f, T * H);
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
    checkLabels(labels, R, V);
    const stats = this.rec.scratch("cross-entropy", 2 * R);
    const rows = [stats, this.at(logits), this.rec.intArgs(labels, R), R, V];
    this.rec.dispatch1d(CROSS_ENTROPY_ROWS, [this.at(losses), ...rows], [], R);
    if (dlogits !== null) this.rec.dispatch1d(CROSS_ENTROPY_GRAD, [this.at(dlogits), ...rows], [gradScale], R * V);
    this.rec.sumInto("loss", this.at(losses), R, false);
  }

  /** Not available synchronously on a GPU: see `sumSquaresAsync` and `clippedAdamUpdate`. */
  sumSquares(_x: Float32Array, _n: number): number {
    throw new Error(
      "WebGpuBackend.sumSquares: a GPU cannot answer synchronously; use clippedAdamUpdate (clips on the GPU) or sumSquaresAsync",
    );
  }

  /** Sum of squares of x[0..n) on the GPU (float32 partial sums), after everything recorded before it. */
  async sumSquaresAsync(x: Float32Array, n: number): Promise<number> {
    this.rec.sumInto("norm", this.at(x), n, true);
    const { gradNorm } = await this.flush();
    return gradNorm! * gradNorm!;
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
    this.adam(params, grads, m, v, n, hyper, decayMask, NONE, 0);
  }

  /**
   * Global-norm clipping then Adam, both on the GPU (Adam.update's work without a read-back): the
   * gradients' norm is summed into a read-back slot (the next flush returns it as gradNorm) and
   * the Adam kernel scales by maxGradNorm / norm when the norm exceeds maxGradNorm (0 or Infinity:
   * no clipping). A NaN or infinite norm updates nothing.
   */
  clippedAdamUpdate(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    hyper: Omit<AdamHyper, "gradScale">,
    maxGradNorm: number,
    decayMask: Uint8Array | null,
  ): void {
    const slot = this.rec.sumInto("norm", this.at(grads), n, true);
    const maxNorm = maxGradNorm > 0 && Number.isFinite(maxGradNorm) ? maxGradNorm : 0;
    this.adam(params, grads, m, v, n, { ...hyper, gradScale: 1 }, decayMask, slot, maxNorm);
  }

  private adam(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    hyper: AdamHyper,
    decayMask: Uint8Array | null,
    normSlot: number,
    maxNorm: number,
  ): void {
    const { learningRate, beta1, beta2, eps, step, gradScale, weightDecay } = hyper;
    checkDecayMask(weightDecay, decayMask, n);
    const mask = weightDecay > 0 ? this.maskAt(decayMask!) : NONE;
    const c1 = 1 / (1 - Math.pow(beta1, step));
    const c2 = 1 / (1 - Math.pow(beta2, step));
    const u = [this.at(params), this.at(grads), this.at(m), this.at(v), mask, n, normSlot];
    this.rec.dispatch1d(ADAM, u, [learningRate, beta1, beta2, eps, c1, c2, weightDecay, gradScale, maxNorm], n);
  }

  /** The decay mask as 0/1 floats on the GPU, uploaded on its first use. */
  private maskAt(mask: Uint8Array): number {
    let at = this.masks.get(mask);
    if (at === undefined) {
      const copy = this.alloc(mask.length);
      copy.set(Float32Array.from(mask));
      at = this.at(copy);
      this.masks.set(mask, at);
    }
    return at;
  }

  scaleAdd(out: Float32Array, x: Float32Array, n: number, w: number, accumulate: boolean): void {
    this.rec.dispatch1d(SCALE_ADD, [this.at(out), this.at(x), n, accumulate ? 1 : 0], [w], n);
  }

  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void {
    this.rec.dispatch1d(
      DROPOUT,
      [this.at(out), this.at(inp), n, dropoutThreshold(p), seed >>> 0],
      [dropoutScale(p)],
      n,
    );
  }

  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void {
    const u = [this.at(out), this.at(a), this.at(b), n, dropoutThreshold(p), seed >>> 0];
    this.rec.dispatch1d(ADD_DROPOUT, u, [dropoutScale(p)], n);
  }

  reluDropout(x: Float32Array, n: number, p: number, seed: number): void {
    this.rec.dispatch1d(RELU_DROPOUT, [this.at(x), n, dropoutThreshold(p), seed >>> 0], [dropoutScale(p)], n);
  }

  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
    this.rec.dispatch1d(RELU_BACKWARD, [this.at(d), this.at(y), n], [scale], n);
  }

  gelu(out: Float32Array, inp: Float32Array, n: number): void {
    this.rec.dispatch1d(GELU, [this.at(out), this.at(inp), n], [GELU_A, GELU_B], n);
  }

  geluBackward(d: Float32Array, inp: Float32Array, n: number): void {
    this.rec.dispatch1d(GELU_BACKWARD, [this.at(d), this.at(inp), n], [GELU_A, GELU_B], n);
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
    const u = [
      this.at(out),
      this.rec.intArgs(ids, T),
      this.rec.intArgs(positions, T),
      this.at(table),
      this.at(pe),
      T,
      C,
    ];
    this.rec.dispatch1d(EMBEDDING, u, [scale], T * C);
  }

  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
    this.rec.dispatch1d(GATHER, [this.at(out), this.at(inp), this.rec.intArgs(rows, R), R, C], [], R * C);
  }

  scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number, scale: number): void {
    // The chains of kernels/rows.ts: the first r of each distinct row, and each r's next r with its row.
    const heads: number[] = [];
    const next = new Int32Array(R).fill(-1);
    const last = new Map<number, number>();
    for (let r = 0; r < R; r++) {
      const before = last.get(rows[r]);
      if (before === undefined) heads.push(r);
      else next[before] = r;
      last.set(rows[r], r);
    }
    const chains = [
      this.rec.intArgs(rows, R),
      this.rec.intArgs(Int32Array.from(heads), heads.length),
      this.rec.intArgs(next, R),
    ];
    this.rec.dispatch1d(
      SCATTER_ADD,
      [this.at(dinp), this.at(dout), ...chains, heads.length, C],
      [scale],
      heads.length * C,
    );
  }

  dispose(): void {
    this.rec.dispose();
  }
}

/** A WebGPU backend on this context's adapter; throws a WebGpuUnavailableError (saying why) when there is none. */
export async function createWebGpuBackend(): Promise<WebGpuBackend> {
  return new WebGpuBackend(await openWebGpu());
}
