/**
 * A bump allocator over one shared WebAssembly.Memory.
 *
 * Memory is reserved up to 4 GiB (65536 pages) and grown on demand. A shared memory never detaches
 * or moves its buffer: after `grow` the memory hands out a new, longer SharedArrayBuffer over the same
 * bytes, and views made on an earlier buffer stay valid for their range. So every view handed out
 * stays valid for the backend's life; the heap remembers every buffer object it made views on, to
 * recognise its own arrays. Nothing is ever freed (arrays are sized once and reused), so every
 * allocation is fresh, zeroed memory.
 */
import { HEAP_START } from "./layout.js";
import { wasm, type WasmMemory } from "./wasm-api.js";

const PAGE = 65536;
const MAX_PAGES = 65536;

/** The shared memory and its allocator. */
export class SharedHeap {
  readonly memory: WasmMemory;
  private top = HEAP_START;
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(initialPages = 64) {
    this.memory = new wasm.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.buffers.add(this.memory.buffer);
  }

  /** Reserves `bytes` (aligned to 64) and returns their byte offset, growing the memory if needed. */
  reserve(bytes: number): number {
    const start = (this.top + 63) & ~63;
    const end = start + Math.max(0, Math.ceil(bytes));
    if (end > MAX_PAGES * PAGE)
      throw new Error(`wasm backend: out of memory (asked for ${bytes} bytes; ${start} in use, limit 4 GiB)`);
    const have = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE);
    if (need > have) {
      // grow by at least a quarter to keep the number of distinct buffer objects small
      this.memory.grow(Math.min(MAX_PAGES - have, Math.max(need - have, Math.ceil(have / 4))));
    }
    this.top = end;
    return start;
  }

  /** The memory's current buffer (registered as ours). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** A zeroed float32 array of n elements. */
  f32(n: number): Float32Array {
    const off = this.reserve(n * 4);
    return new Float32Array(this.buffer(), off, n);
  }

  /** A zeroed int32 array of n elements. */
  i32(n: number): Int32Array {
    const off = this.reserve(n * 4);
    return new Int32Array(this.buffer(), off, n);
  }

  /** True when `view` lies in this heap's memory. */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /**
   * Byte offset of `view` in the memory; throws a clear error when the array was not allocated by
   * this backend or holds fewer than `minLength` elements.
   */
  offsetOf(view: ArrayBufferView & { length: number }, what: string, minLength: number): number {
    if (!this.buffers.has(view.buffer)) {
      throw new Error(
        `wasm backend: ${what} is not an array of this backend's memory; allocate it with backend.alloc()/allocInt()`,
      );
    }
    if (view.length < minLength)
      throw new Error(`wasm backend: ${what} has ${view.length} elements, expected at least ${minLength}`);
    return view.byteOffset;
  }
}
