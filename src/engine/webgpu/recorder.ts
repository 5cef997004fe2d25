/**
 * The recording half of the WebGPU backend (webgpu-backend.ts holds the kernels' arguments): the heap
 * and the backend's own ranges in it, the calls recorded in order (dispatches with their uniform
 * arguments, uploads of CPU data, integer inputs), and `submit`, which encodes them into one command
 * buffer (one compute pass, split only by uploads), sends the staged data with three `writeBuffer`s,
 * and maps back one small buffer: the read-back slots (loss sums, the gradient norm) and the arrays
 * asked for.
 */
/// <reference types="@webgpu/types" />
import { GROUP } from "./kernels/prelude.js";
import { PARTIALS, SUM_FINAL, SUM_PARTIALS } from "./kernels/reduce.js";

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
}

/** An array to read back: its CPU copy and its heap offset in floats. */
export interface ReadRange {
  view: Float32Array;
  at: number;
}

export class CommandRecorder {
  private readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
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
  /** Heap ranges of the recorder's own: read-back slots, reduction partials, kernels' scratch. */
  private readonly results: number;
  private readonly partials: number;
  private readonly scratches = new Map<string, { at: number; size: number }>();
  private resultKinds: ("loss" | "norm")[] = [];
  private disposed = false;
  /** Why the device was lost (a driver reset, the tab in the background too long), once it was. */
  private lost: string | null = null;

  constructor(private readonly device: GPUDevice) {
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

  /** A heap range of n floats of the recorder's own; returns its offset. */
  region(n: number): number {
    const at = this.heapFloats;
    this.heapFloats += Math.ceil(Math.max(n, 1) / ALIGN) * ALIGN;
    return at;
  }

  /** A heap range of the recorder's own for `use`, of at least n floats: grows once to the largest n asked. */
  scratch(use: string, n: number): number {
    const have = this.scratches.get(use);
    if (have !== undefined && have.size >= n) return have.at;
    const grown = { at: this.region(n), size: n };
    this.scratches.set(use, grown);
    return grown.at;
  }

  /** Records a copy of `bytes` (CPU data, taken now) to the heap at byte offset `to`, in order with the dispatches. */
  upload(bytes: Uint8Array, to: number): void {
    const from = this.uploadStage.take(bytes.length);
    this.uploadStage.bytes.set(bytes, from);
    this.ops.push({ kind: "upload", from, to, bytes: bytes.length });
  }

  // ---- recording ----

  /** Copies ints[0..n) into this submission's integer buffer; returns their offset there (in ints). */
  intArgs(ints: Int32Array, n: number): number {
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
  dispatch(source: string, u: number[], f: number[], x: number, y = 1): void {
    if (this.disposed) throw new Error("WebGpuBackend: used after dispose");
    if (x === 0 || y === 0) return;
    const at = this.uniformStage.take(SLOT_BYTES);
    const words = new Uint32Array(this.uniformStage.bytes.buffer, at, u.length + f.length);
    words.set(u);
    new Float32Array(words.buffer, at + u.length * 4, f.length).set(f);
    this.ops.push({ kind: "dispatch", pipeline: this.pipeline(source), slot: at / SLOT_BYTES, x, y });
  }

  /** A dispatch of `count` invocations of a 1-D kernel (256 per workgroup, on a 2-D grid). */
  dispatch1d(source: string, u: number[], f: number[], count: number): void {
    const groups = Math.ceil(count / GROUP);
    const x = Math.min(groups, MAX_GROUPS);
    this.dispatch(source, u, f, x, Math.ceil(groups / x));
  }

  /** Records sum(x[0..n)) (or of squares) into the next read-back slot; returns its heap offset. */
  sumInto(kind: "loss" | "norm", x: number, n: number, squares: boolean): number {
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

  async submit(reads: ReadRange[]): Promise<FlushResult> {
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
    const ranges = reads.map((r) => ({ view: r.view, from: r.at * 4, bytes: r.view.length * 4 }));
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

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [this.heap, this.ints, this.uniforms, this.uploads]) b?.destroy();
    this.device.destroy();
  }
}
