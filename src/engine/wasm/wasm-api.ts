/**
 * The few WebAssembly JavaScript API members this backend uses, typed here because the project's
 * TypeScript settings (lib ES2022, @types/node 20) do not declare the `WebAssembly` global.
 * Reading it through `globalThis` keeps these types local and cannot clash with declarations that a
 * later TypeScript lib may bring.
 */

/** A compiled module (can be posted to worker threads). */
export type WasmModule = object;

/** A linear memory; with `shared: true` its buffer is a SharedArrayBuffer. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Grows by `pages` pages of 64 KiB; returns the previous size in pages. */
  grow(pages: number): number;
}

/** An instantiated module. */
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
}

/** The runtime's WebAssembly namespace. */
export const wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
