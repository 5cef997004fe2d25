/**
 * The arrays of the WebGPU backend: Float32Arrays that are the CPU copy of a range of the GPU heap.
 *
 * Kernels run on the GPU copy; the CPU copy holds what the CPU last wrote or read back (`read`), so
 * code written for the synchronous `Backend` interface runs unchanged as long as it writes through
 * `fill` and `set`, which a `GpuArray` forwards to the GPU in order with the kernels (the model
 * writes this way: zeroing gradients, copying positional tables and loaded tensors). Writes element
 * by element reach the GPU only through the backend's `upload`. Subarrays are GpuArrays of the same
 * range (their byteOffset locates them); other derived arrays (slice, map) are plain Float32Arrays.
 */

/** Who owns the memory of a GpuArray: the backend, told of every fill and set. */
export interface GpuArrayOwner {
  /** The elements [start, end) of `view` were set to `value` on the CPU copy. */
  filled(view: GpuArray, start: number, end: number, value: number): void;
  /** The elements [start, end) of `view` were written on the CPU copy. */
  written(view: GpuArray, start: number, end: number): void;
}

const owners = new WeakMap<ArrayBufferLike, GpuArrayOwner>();

/** A fresh zeroed GpuArray of n elements owned by `owner`. */
export function newGpuArray(owner: GpuArrayOwner, n: number): GpuArray {
  const buffer = new ArrayBuffer(n * 4);
  owners.set(buffer, owner);
  return new GpuArray(buffer, 0, n);
}

/** The owner of an array, or undefined for any other Float32Array. */
export function ownerOf(view: Float32Array): GpuArrayOwner | undefined {
  return owners.get(view.buffer);
}

/** A relative index of fill/subarray (negative counts from the end), clamped to [0, length]. */
function clampIndex(index: number | undefined, length: number, fallback: number): number {
  if (index === undefined) return fallback;
  const i = Math.trunc(index);
  return i < 0 ? Math.max(length + i, 0) : Math.min(i, length);
}

export class GpuArray extends Float32Array<ArrayBuffer> {
  static get [Symbol.species](): Float32ArrayConstructor {
    return Float32Array;
  }

  constructor(buffer: ArrayBuffer, byteOffset: number, length: number) {
    super(buffer, byteOffset, length);
  }

  override subarray(begin?: number, end?: number): GpuArray {
    const start = clampIndex(begin, this.length, 0);
    const stop = Math.max(start, clampIndex(end, this.length, this.length));
    return new GpuArray(this.buffer, this.byteOffset + start * 4, stop - start);
  }

  override fill(value: number, start?: number, end?: number): this {
    super.fill(value, start, end);
    const s = clampIndex(start, this.length, 0);
    const e = clampIndex(end, this.length, this.length);
    if (e > s) owners.get(this.buffer)?.filled(this, s, e, Math.fround(value));
    return this;
  }

  override set(source: ArrayLike<number>, offset = 0): void {
    super.set(source, offset);
    if (source.length > 0) owners.get(this.buffer)?.written(this, offset, offset + source.length);
  }
}
