/**
 * The messages between the page and its training worker (worker.ts). The worker owns the engine and
 * the run's files while it trains; the page draws what it is told and asks for training, fine-tuning,
 * stopping, filling in a mask, classifying a text.
 */
import type { FillMaskPrediction, ClassificationOutput } from "../../src/pipelines/index.js";

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

/**
 * The settings of `mlm finetune` the page offers: configuration keys (over the tutorial's fine-tuning
 * defaults, FINETUNE_DEFAULTS) and how the labelled data is read and the head built.
 */
export interface FinetuneTabSettings {
  config: Record<string, number>;
  /** Further configuration keys from the page's address (`?config=...`); the fields above win. */
  overrides: Record<string, unknown>;
  pooling: "cls" | "mean";
  /** The head on the pooled vector; null: BERT's for a run of BERT's architecture, else the tutorial's. */
  head: "tutorial" | "bert" | null;
  bestMetric: "accuracy" | "macroF1" | "loss";
  /** The validation file's name (among `files`), or null for a seeded share of the data. */
  valid: string | null;
  validFraction: number;
  textColumn: string | null;
  textPairColumn: string | null;
  labelColumn: string;
}

/** The corpus: its name ("the bundled corpus" has none in config.json) and its text. */
export interface TabCorpus {
  name: string;
  text: string;
  bundled: boolean;
}

/** Labelled files by name: the data file and, when one was given, the validation file. */
export type LabelledFiles = Record<string, Uint8Array>;

/** The kernels the page asks for: WebGPU (when the worker opens an adapter) or WebAssembly. */
export type BackendChoice = "webgpu" | "wasm";

/** The checkpoint a pipeline loaded: its folder and the step it was saved at. */
export interface UsedCheckpoint {
  dir: string;
  step: number | null;
}

export type ToWorker =
  | { type: "train"; runDir: string; corpus: TabCorpus; settings: TabSettings; backend: BackendChoice }
  /** A new fine-tuning run on `files` (data: the first file's name) from the pre-trained run `from`. */
  | {
      type: "finetune";
      runDir: string;
      from: string;
      data: string;
      files: LabelledFiles;
      settings: FinetuneTabSettings;
      backend: BackendChoice;
    }
  /** Continues a run: a masked language model's on its corpus, a classifier's on its labelled files. */
  | { type: "resume"; runDir: string; data: { corpus: TabCorpus } | { files: LabelledFiles }; backend: BackendChoice }
  | { type: "stop" }
  | { type: "fill"; runDir: string; text: string; topK: number }
  | { type: "classify"; runDir: string; text: string };

/** How a run ended: the figures for the page's status line. */
export interface RunEnd {
  type: "done";
  runDir: string;
  task: "fill-mask" | "text-classification";
  steps: number;
  stoppedBy: string;
  msPerStep: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  /** The best evaluation's accuracy and macro-F1 (a classifier), else null. */
  best: { accuracy: number; macroF1: number } | null;
}

export type FromWorker =
  /** What trains: `backend` its name; `backendReason` why WebAssembly runs when WebGPU was asked for. */
  | { type: "engine"; threads: number; reason: string | null; backend: string; backendReason: string | null }
  | { type: "log"; line: string }
  /** A metrics.jsonl record as the run module wrote it (one training log, evaluation or warning). */
  | { type: "metrics"; record: Record<string, unknown> }
  | RunEnd
  | { type: "filled"; predictions: FillMaskPrediction[][]; checkpoint: UsedCheckpoint }
  | { type: "classified"; labels: ClassificationOutput[]; checkpoint: UsedCheckpoint }
  | { type: "error"; message: string };

/** The Web Lock a tab holds on a run while it trains it: one tab owns a run at a time. */
export const runLockName = (runDir: string): string => `mlm-ts run ${runDir}`;
