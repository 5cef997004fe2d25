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
 * step are recorded, and `flush` submits them as one command buffer (one compute pass, split only
 * by uploads) and reads back the only values a step needs: the sum of the row losses of every
 * `crossEntropy` since the last flush, and the gradient norm of `clippedAdamUpdate`. Consequences
 * for code written against `Backend`: values a kernel wrote read as stale on the CPU until `read`
 * (the model's own loss sum, read on the CPU, is not the step's loss: take `flush().lossSum`);
 * `sumSquares` cannot answer synchronously and throws (`clippedAdamUpdate` clips on the GPU).
 */
/// <reference types="@webgpu/types" />
import { dropoutScale, dropoutThreshold, GELU_A, GELU_B, type AdamHyper, type Backend } from "../backend.js";
import { openWebGpu, type WebGpuDevice } from "./device.js";
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
import { GROUP, NONE } from "./kernels/prelude.js";
import { PARTIALS, SUM_FINAL, SUM_PARTIALS } from "./kernels/reduce.js";
import { EMBEDDING, GATHER, SCATTER_ADD } from "./kernels/rows.js";

/** Bytes of one dispatch's uniform arguments (the minimum dynamic-offset alignment WebGPU guarantees). */
const SLOT_BYTES = 256;
/** Values one submission may read back (loss sums, norms). */
const RESULT_SLOTS = 4096;
/** Offsets in the heap are rounded up to 64 floats (256 bytes). */
const ALIGN = 64;
/** Most workgroups in one dimension of a dispatch. */
const MAX_GROUPS = 65535;

/** One recorded command. */
type Op =
  | { kind: "dispatch"; pipeline: GPUComputePipeline; slot: number; x: number; y: number }
  | { kind: "upload"; from: number; to: number; bytes: number };

/** What a submission read back. */
export interface FlushResult {
  /** Sum of the row losses of every crossEntropy recorded since the previous flush (float64 sum of their float32 sums). */
  lossSum: number;
  /** Global gradient norm seen by the last clippedAdamUpdate of the submission, or null when none ran. */
  gradNorm: number | null;
}

/** A CPU array that grows by doubling (staging for uniforms, integers, uploads). */
class Staging {
  bytes = new Uint8Array(1 << 16);
  used = 0;
  /** Reserves n bytes (a multiple of 4) and returns their start. */
  take(n: number): number {
    if (this.used + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + n));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const at = this.used;
    this.used += n;
    return at;
  }
  words(): Uint32Array {
    return new Uint32Array(this.bytes.buffer);
  }
}

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
  private readonly device: GPUDevice;
  private readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Heap offset (in floats) of each array's buffer. */
  private readonly bases = new WeakMap<ArrayBufferLike, number>();
  /** Floats of the heap handed out so far. */
  private heapFloats = 0;
  private heap: GPUBuffer | null = null;
  private ints: GPUBuffer | null = null;
  private uniforms: GPUBuffer | null = null;
  private uploads: GPUBuffer | null = null;
  private bindGroup: GPUBindGroup | null = null;
  private ops: Op[] = [];
  private readonly uniformStage = new Staging();
  private readonly intStage = new Staging();
  private readonly uploadStage = new Staging();
  /** Heap ranges of the backend's own: read-back slots, reduction partials, attention scratch. */
  private readonly results: number;
  private readonly partials: number;
  private readonly scratches = new Map<string, { at: number; size: number }>();
  private resultKinds: ("loss" | "norm")[] = [];
  private readonly masks = new WeakMap<Uint8Array, number>();
  private disposed = false;
  /** Why the device was lost (a driver reset, the tab in the background too long), once it was. */
  private lost: string | null = null;

  constructor(gpu: WebGpuDevice) {
    this.device = gpu.device;
    this.name = `webgpu (${gpu.adapter})`;
    const storage = (type: GPUBufferBindingType, binding: number): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    });
    this.layout = this.device.createBindGroupLayout({
      entries: [
        storage("storage", 0),
        storage("read-only-storage", 1),
        { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } },
      ],
    });
    this.pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = info.message === "" ? info.reason : info.message;
    });
    this.results = this.region(RESULT_SLOTS);
    this.partials = this.region(PARTIALS);
  }

  // ---- memory ----

  alloc(n: number): Float32Array {
    const array = newGpuArray(this, n);
    this.bases.set(array.buffer, this.region(n));
    return array;
  }

  allocInt(n: number): Int32Array {
    return new Int32Array(n);
  }

  /** A heap range of n floats of the backend's own; returns its offset. */
  private region(n: number): number {
    const at = this.heapFloats;
    this.heapFloats += Math.ceil(Math.max(n, 1) / ALIGN) * ALIGN;
    return at;
  }

  /** A heap range of the backend's own for `use`, of at least n floats: grows once to the largest n asked. */
  private scratch(use: string, n: number): number {
    const have = this.scratches.get(use);
    if (have !== undefined && have.size >= n) return have.at;
    const grown = { at: this.region(n), size: n };
    this.scratches.set(use, grown);
    return grown.at;
  }

  /** The heap offset (in floats) of an array from `alloc` (or a subarray of one). */
  private at(view: Float32Array): number {
    const base = this.bases.get(view.buffer);
    if (base === undefined || ownerOf(view) !== this)
      throw new Error("WebGpuBackend: an array that does not come from this backend's alloc");
    return base + view.byteOffset / 4;
  }

  filled(view: GpuArray, start: number, end: number, value: number): void {
    this.dispatch1d(FILL, [this.at(view) + start, end - start], [value], end - start);
  }

  written(view: GpuArray, start: number, end: number): void {
    const bytes = (end - start) * 4;
    const from = this.uploadStage.take(bytes);
    this.uploadStage.bytes.set(new Uint8Array(view.buffer, view.byteOffset + start * 4, bytes), from);
    this.ops.push({ kind: "upload", from, to: (this.at(view) + start) * 4, bytes });
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
    return this.submit(views);
  }

  /** Runs every recorded kernel (one submission) and returns the values it read back. */
  async flush(): Promise<FlushResult> {
    return this.submit([]);
  }

  // ---- recording ----

  /** Copies ints[0..n) into this submission's integer buffer; returns their offset there (in ints). */
  private intArgs(ints: Int32Array, n: number): number {
    const from = this.intStage.take(Math.max(n, 1) * 4);
    new Int32Array(this.intStage.bytes.buffer, from, n).set(ints.subarray(0, n));
    return from / 4;
  }

  private pipeline(source: string): GPUComputePipeline {
    let p = this.pipelines.get(source);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: source });
      p = this.device.createComputePipeline({ layout: this.pipelineLayout, compute: { module, entryPoint: "main" } });
      this.pipelines.set(source, p);
    }
    return p;
  }

  /** Records one dispatch of `source` with its Args words (u32 values, then f32 values) on a grid. */
  private dispatch(source: string, u: number[], f: number[], x: number, y = 1): void {
    if (this.disposed) throw new Error("WebGpuBackend: used after dispose");
    if (x === 0 || y === 0) return;
    const at = this.uniformStage.take(SLOT_BYTES);
    const words = new Uint32Array(this.uniformStage.bytes.buffer, at, u.length + f.length);
    words.set(u);
    new Float32Array(words.buffer, at + u.length * 4, f.length).set(f);
    this.ops.push({ kind: "dispatch", pipeline: this.pipeline(source), slot: at / SLOT_BYTES, x, y });
  }

  /** A dispatch of `count` invocations of a 1-D kernel (256 per workgroup, on a 2-D grid). */
  private dispatch1d(source: string, u: number[], f: number[], count: number): void {
    const groups = Math.ceil(count / GROUP);
    const x = Math.min(groups, MAX_GROUPS);
    this.dispatch(source, u, f, x, Math.ceil(groups / x));
  }

  /** Records sum(x[0..n)) (or of squares) into the next read-back slot; returns its heap offset. */
  private sumInto(kind: "loss" | "norm", x: number, n: number, squares: boolean): number {
    if (this.resultKinds.length >= RESULT_SLOTS)
      throw new Error(`WebGpuBackend: more than ${RESULT_SLOTS} read-back values before a flush`);
    const slot = this.results + this.resultKinds.length;
    this.resultKinds.push(kind);
    const stride = Math.max(1, Math.min(PARTIALS, n));
    this.dispatch1d(SUM_PARTIALS, [this.partials, x, n, squares ? 1 : 0, stride], [], stride);
    this.dispatch(SUM_FINAL, [slot, this.partials, stride], [], 1);
    return slot;
  }

  // ---- submission ----

  /** Makes the GPU buffers as large as what was recorded needs; the heap keeps its contents. */
  private ensureBuffers(encoder: GPUCommandEncoder, garbage: GPUBuffer[]): void {
    const d = this.device;
    const grow = (
      old: GPUBuffer | null,
      bytes: number,
      usage: number,
      keep: boolean,
    ): { buffer: GPUBuffer; changed: boolean } => {
      if (old !== null && old.size >= bytes) return { buffer: old, changed: false };
      const size = Math.max(bytes, old === null ? 0 : old.size * 2, 1024);
      const buffer = d.createBuffer({ size: Math.ceil(size / 4) * 4, usage });
      if (old !== null) {
        if (keep) encoder.copyBufferToBuffer(old, 0, buffer, 0, old.size);
        garbage.push(old);
      }
      return { buffer, changed: true };
    };
    const U = GPUBufferUsage;
    const heap = grow(this.heap, this.heapFloats * 4, U.STORAGE | U.COPY_SRC | U.COPY_DST, true);
    const ints = grow(this.ints, this.intStage.used, U.STORAGE | U.COPY_DST, false);
    const uniforms = grow(this.uniforms, this.uniformStage.used, U.UNIFORM | U.COPY_DST, false);
    const uploads = grow(this.uploads, this.uploadStage.used, U.COPY_SRC | U.COPY_DST, false);
    this.heap = heap.buffer;
    this.ints = ints.buffer;
    this.uniforms = uniforms.buffer;
    this.uploads = uploads.buffer;
    if (heap.changed || ints.changed || uniforms.changed || this.bindGroup === null) {
      this.bindGroup = d.createBindGroup({
        layout: this.layout,
        entries: [
          { binding: 0, resource: { buffer: this.heap } },
          { binding: 1, resource: { buffer: this.ints } },
          { binding: 2, resource: { buffer: this.uniforms, size: SLOT_BYTES } },
        ],
      });
    }
  }

  private async submit(views: Float32Array[]): Promise<FlushResult> {
    if (this.disposed) throw new Error("WebGpuBackend: used after dispose");
    if (this.lost !== null)
      throw new Error(`WebGpuBackend: the GPU device was lost (${this.lost}); its arrays are gone`);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (this.heapFloats * 4 > limit)
      throw new Error(
        `WebGpuBackend: the model's arrays need ${this.heapFloats * 4} bytes in one buffer, this GPU binds at most ${limit}; use a smaller batch or model`,
      );
    const d = this.device;
    d.pushErrorScope("validation");
    d.pushErrorScope("out-of-memory");
    const encoder = d.createCommandEncoder();
    const garbage: GPUBuffer[] = [];
    this.ensureBuffers(encoder, garbage);
    const q = d.queue;
    const writeStage = (buffer: GPUBuffer, stage: Staging): void => {
      if (stage.used > 0) q.writeBuffer(buffer, 0, stage.bytes, 0, stage.used);
    };
    writeStage(this.ints!, this.intStage);
    writeStage(this.uniforms!, this.uniformStage);
    writeStage(this.uploads!, this.uploadStage);
    let pass: GPUComputePassEncoder | null = null;
    for (const op of this.ops) {
      if (op.kind === "upload") {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(this.uploads!, op.from, this.heap!, op.to, op.bytes);
        continue;
      }
      if (pass === null) pass = encoder.beginComputePass();
      pass.setPipeline(op.pipeline);
      pass.setBindGroup(0, this.bindGroup, [op.slot * SLOT_BYTES]);
      pass.dispatchWorkgroups(op.x, op.y);
    }
    pass?.end();
    // Read-back: the result slots, then each requested view, into one mappable buffer.
    const kinds = this.resultKinds;
    const ranges = views.map((v) => ({ view: v, from: this.at(v) * 4, bytes: v.length * 4 }));
    let readBytes = kinds.length * 4;
    const placed = ranges.map((r) => {
      const at = readBytes;
      readBytes += r.bytes;
      return at;
    });
    const readback =
      readBytes > 0
        ? d.createBuffer({ size: readBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
        : null;
    if (readback !== null) {
      if (kinds.length > 0) encoder.copyBufferToBuffer(this.heap!, this.results * 4, readback, 0, kinds.length * 4);
      ranges.forEach((r, i) => {
        if (r.bytes > 0) encoder.copyBufferToBuffer(this.heap!, r.from, readback, placed[i], r.bytes);
      });
    }
    q.submit([encoder.finish()]);
    this.ops = [];
    this.resultKinds = [];
    this.intStage.used = 0;
    this.uniformStage.used = 0;
    this.uploadStage.used = 0;
    for (const b of garbage) b.destroy();
    const oom = await d.popErrorScope();
    const invalid = await d.popErrorScope();
    const error = invalid ?? oom;
    if (error !== null) {
      readback?.destroy();
      throw new Error(`WebGpuBackend: the GPU refused the recorded work: ${error.message}`);
    }
    const result: FlushResult = { lossSum: 0, gradNorm: null };
    if (readback === null) {
      await q.onSubmittedWorkDone();
      return result;
    }
    await readback.mapAsync(GPUMapMode.READ);
    const data = readback.getMappedRange();
    const values = new Float32Array(data, 0, kinds.length);
    kinds.forEach((kind, i) => {
      if (kind === "loss") result.lossSum += values[i];
      else result.gradNorm = Math.sqrt(values[i]);
    });
    ranges.forEach((r, i) => {
      // the typed array's own set, not GpuArray.set: this refreshes the CPU copy, it is no write
      Float32Array.prototype.set.call(r.view, new Float32Array(data, placed[i], r.view.length));
    });
    readback.unmap();
    readback.destroy();
    return result;
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
    if (dbias !== null) this.dispatch1d(BIAS_GRAD, [this.at(dbias), this.at(dout), T, N], [], N);
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
    this.dispatch(MATMUL, u, [], Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE));
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
    this.dispatch1d(LAYER_NORM_FORWARD, u, [eps], T);
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
    this.dispatch1d(LAYER_NORM_BACKWARD_PARAMS, [this.at(dgamma), this.at(dbeta), this.at(dout), ...stats], [], C);
    const u = [this.at(dinp), this.at(dout), this.at(inp), this.at(gamma), this.at(mean), this.at(rstd), T, C];
    this.dispatch1d(LAYER_NORM_BACKWARD_INPUT, u, [], T);
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
      for (let i = 0; i < L && start + i < T; i++) table.set([start, L, seqs[3 * s + 2], base], 4 * (start + i));
      base += L * L * H;
    }
    return { rows: this.intArgs(table, 4 * T), probs: base };
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
    const D = C / H;
    const { rows } = this.attentionRows(seqs, numSeqs, T, H);
    const u = [this.at(out), this.at(probs), this.at(q), this.at(k), this.at(v), rows, T, C, H, D];
    this.dispatch1d(ATTENTION_FORWARD, u, [1 / Math.sqrt(D)], T * H);
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
    const D = C / H;
    const table = this.attentionRows(seqs, numSeqs, T, H);
    const u = [this.at(dq), this.at(dk), this.at(dv), this.at(dout), this.at(probs), this.at(q), this.at(k)];
    u.push(this.at(v), this.scratch("attention", table.probs), table.rows, T, C, H, D);
    const f = [1 / Math.sqrt(D)];
    this.dispatch1d(ATTENTION_BACKWARD_QUERY, u, f, T * H);
    this.dispatch1d(ATTENTION_BACKWARD_KEY, u, f, T * H);
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
    for (let r = 0; r < R; r++)
      if (labels[r] >= V)
        throw new Error(`crossEntropy: label ${labels[r]} at row ${r} is outside the vocabulary of ${V}`);
    const stats = this.scratch("cross-entropy", 2 * R);
    const rows = [stats, this.at(logits), this.intArgs(labels, R), R, V];
    this.dispatch1d(CROSS_ENTROPY_ROWS, [this.at(losses), ...rows], [], R);
    if (dlogits !== null) this.dispatch1d(CROSS_ENTROPY_GRAD, [this.at(dlogits), ...rows], [gradScale], R * V);
    this.sumInto("loss", this.at(losses), R, false);
  }

  /** Not available synchronously on a GPU: see `sumSquaresAsync` and `clippedAdamUpdate`. */
  sumSquares(_x: Float32Array, _n: number): number {
    throw new Error(
      "WebGpuBackend.sumSquares: a GPU cannot answer synchronously; use clippedAdamUpdate (clips on the GPU) or sumSquaresAsync",
    );
  }

  /** Sum of squares of x[0..n) on the GPU (float32 partial sums), after everything recorded before it. */
  async sumSquaresAsync(x: Float32Array, n: number): Promise<number> {
    this.sumInto("norm", this.at(x), n, true);
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
    const slot = this.sumInto("norm", this.at(grads), n, true);
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
    const { lr, beta1, beta2, eps, step, gradScale, weightDecay } = hyper;
    if (weightDecay > 0 && decayMask === null) throw new Error("adamUpdate: weightDecay > 0 needs a decayMask");
    const mask = weightDecay > 0 ? this.maskAt(decayMask!) : NONE;
    const c1 = 1 / (1 - Math.pow(beta1, step));
    const c2 = 1 / (1 - Math.pow(beta2, step));
    const u = [this.at(params), this.at(grads), this.at(m), this.at(v), mask, n, normSlot];
    this.dispatch1d(ADAM, u, [lr, beta1, beta2, eps, c1, c2, weightDecay, gradScale, maxNorm], n);
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
    this.dispatch1d(SCALE_ADD, [this.at(out), this.at(x), n, accumulate ? 1 : 0], [w], n);
  }

  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void {
    this.dispatch1d(DROPOUT, [this.at(out), this.at(inp), n, dropoutThreshold(p), seed >>> 0], [dropoutScale(p)], n);
  }

  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void {
    const u = [this.at(out), this.at(a), this.at(b), n, dropoutThreshold(p), seed >>> 0];
    this.dispatch1d(ADD_DROPOUT, u, [dropoutScale(p)], n);
  }

  reluDropout(x: Float32Array, n: number, p: number, seed: number): void {
    this.dispatch1d(RELU_DROPOUT, [this.at(x), n, dropoutThreshold(p), seed >>> 0], [dropoutScale(p)], n);
  }

  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
    this.dispatch1d(RELU_BACKWARD, [this.at(d), this.at(y), n], [scale], n);
  }

  gelu(out: Float32Array, inp: Float32Array, n: number): void {
    this.dispatch1d(GELU, [this.at(out), this.at(inp), n], [GELU_A, GELU_B], n);
  }

  geluBackward(d: Float32Array, inp: Float32Array, n: number): void {
    this.dispatch1d(GELU_BACKWARD, [this.at(d), this.at(inp), n], [GELU_A, GELU_B], n);
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
    const u = [this.at(out), this.intArgs(ids, T), this.intArgs(positions, T), this.at(table), this.at(pe), T, C];
    this.dispatch1d(EMBEDDING, u, [scale], T * C);
  }

  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
    this.dispatch1d(GATHER, [this.at(out), this.at(inp), this.intArgs(rows, R), R, C], [], R * C);
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
    const chains = [this.intArgs(rows, R), this.intArgs(Int32Array.from(heads), heads.length), this.intArgs(next, R)];
    this.dispatch1d(SCATTER_ADD, [this.at(dinp), this.at(dout), ...chains, heads.length, C], [scale], heads.length * C);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [this.heap, this.ints, this.uniforms, this.uploads]) b?.destroy();
    this.device.destroy();
  }
}

/** A WebGPU backend on this context's adapter; throws a WebGpuUnavailableError (saying why) when there is none. */
export async function createWebGpuBackend(): Promise<WebGpuBackend> {
  return new WebGpuBackend(await openWebGpu());
}
