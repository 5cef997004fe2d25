/**
 * The messages between the page and its training worker (worker.ts). The worker owns the engine and
 * the run's files while it trains; the page draws what it is told and asks for training, stopping,
 * filling in a mask.
 */
import type { FillMaskPrediction } from "../../src/pipelines/index.js";

/** Settings a page can change; everything else is the tutorial's default (src/config/table.ts). */
export interface TabSettings {
  maxSteps: number;
  /** Kernel threads; 0: as many as the page may use. */
  threads: number;
  /** The training loss is logged every this many steps (1: a point per step on the curve). */
  logSteps: number;
  evalSteps: number;
  /** A latest checkpoint (what a resume continues from) every this many steps, besides evaluations. */
  saveSteps: number;
  /** Further configuration keys from the page's address (`?config={"dModel":32}`), e.g. a smaller model. */
  overrides: Record<string, unknown>;
}

/** The corpus: its name ("the bundled corpus" has none in config.json) and its text. */
export interface TabCorpus {
  name: string;
  text: string;
  bundled: boolean;
}

/** The kernels the page asks for: WebGPU (when the worker opens an adapter) or WebAssembly. */
export type BackendChoice = "webgpu" | "wasm";

export type ToWorker =
  | { type: "train"; runDir: string; corpus: TabCorpus; settings: TabSettings; backend: BackendChoice }
  | { type: "resume"; runDir: string; corpus: TabCorpus; backend: BackendChoice }
  | { type: "stop" }
  | { type: "fill"; runDir: string; text: string; topK: number };

export type FromWorker =
  /** What trains: `backend` its name; `backendReason` why WebAssembly runs when WebGPU was asked for. */
  | { type: "engine"; threads: number; reason: string | null; backend: string; backendReason: string | null }
  | { type: "log"; line: string }
  /** A metrics.jsonl record as the run module wrote it (one training log, evaluation or warning). */
  | { type: "metrics"; record: Record<string, unknown> }
  | { type: "done"; runDir: string; steps: number; stoppedBy: string; msPerStep: number; bestValidLoss: number | null }
  | { type: "filled"; predictions: FillMaskPrediction[][] }
  | { type: "error"; message: string };

/** The Web Lock a tab holds on a run while it trains it: one tab owns a run at a time. */
export const runLockName = (runDir: string): string => `mlm-ts run ${runDir}`;
