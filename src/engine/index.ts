/** Public API of the compute engine: the kernel interface, the plain TypeScript backend, the RNG. */
export type { AdamHyper, Backend } from "./backend.js";
export { TsBackend } from "./ts-backend.js";
export { Rng } from "../util/rng.js";
export type { RngState } from "../util/rng.js";
