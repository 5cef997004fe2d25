/**
 * Picks the kernel implementation: the WebAssembly SIMD backend on worker threads (fast), or the
 * plain TypeScript reference.
 */
import { platform } from "../platform/index.js";
import type { Backend } from "./backend.js";
import { TsBackend } from "./ts-backend.js";

/** The kernel implementations: "wasm" (SIMD on worker threads) or "ts" (plain TypeScript reference). */
export type BackendKind = "wasm" | "ts";

/** `threads` 0 = one per core (the ts backend has one). The WebAssembly module is loaded only when asked for. */
export async function createBackend(kind: BackendKind, threads: number): Promise<Backend> {
  if (kind === "ts") return new TsBackend();
  const { createWasmBackend } = await import("./wasm/wasm-backend.js");
  return createWasmBackend({ threads: threads > 0 ? threads : platform().cpuCount() });
}
