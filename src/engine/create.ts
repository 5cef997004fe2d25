/**
 * Picks the kernel implementation: the WebAssembly SIMD backend on worker threads (fast), the plain
 * TypeScript reference, or WebGPU (training only: see `CPU_BACKENDS`).
 */
import { platform } from "../platform/index.js";
import type { Backend } from "./backend.js";
import { TsBackend } from "./ts-backend.js";

/**
 * The kernels that answer on the CPU, synchronously: "wasm" (SIMD on worker threads) or "ts" (plain
 * TypeScript reference). Inference reads logits on the CPU, so it runs on these only.
 */
export const CPU_BACKENDS = ["wasm", "ts"] as const;
export type CpuBackendKind = (typeof CPU_BACKENDS)[number];
/** Every kind: the CPU ones and "webgpu" (src/engine/webgpu; its steps end in `gpuOptimizerStep`). */
export const BACKENDS = [...CPU_BACKENDS, "webgpu"] as const;
export type BackendKind = (typeof BACKENDS)[number];

/**
 * `threads` 0 = one per core (the ts and webgpu backends have one). The WebAssembly and WebGPU modules
 * are loaded only when asked for; "webgpu" throws a WebGpuUnavailableError saying why when this
 * context has no WebGPU adapter (in Node: the optional npm package `webgpu` is missing or found none).
 */
export async function createBackend(kind: BackendKind, threads: number): Promise<Backend> {
  if (kind === "ts") return new TsBackend();
  if (kind === "webgpu") return (await import("./webgpu/webgpu-backend.js")).createWebGpuBackend();
  const { createWasmBackend } = await import("./wasm/wasm-backend.js");
  return createWasmBackend({ threads: threads > 0 ? threads : platform().cpuCount() });
}

/** The CPU kind that stands in for `kind` where the CPU must answer (evaluation on a copy): wasm for webgpu. */
export function cpuKindFor(kind: BackendKind): CpuBackendKind {
  return kind === "webgpu" ? "wasm" : kind;
}
