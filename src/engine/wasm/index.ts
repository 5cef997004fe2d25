/** The WebAssembly SIMD backend: `createWasmBackend` and its options. */
export { createWasmBackend } from "./wasm-backend.js";
export type { WasmBackendOptions } from "./wasm-backend.js";
export { relaxedSimdSupported } from "./compile.js";
export type { GemmConfig } from "./wat-gemm.js";
