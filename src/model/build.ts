/**
 * Building a model: its backend (created here, or one the caller owns), its buffers sized once for the
 * largest batch, and its first weights (a seeded initialisation or saved tensors). Training,
 * evaluation, the benchmark and inference all build their model here.
 */
import type { Backend } from "../engine/backend.js";
import { createBackend, type BackendKind } from "../engine/create.js";
import { DEFAULT_CONFIG } from "../config/table.js";
import { Rng } from "../util/rng.js";
import type { MlmDataLoader } from "../data/loader.js";
import type { ModelConfig } from "./config.js";
import { MlmModel, type ModelCapacity } from "./model.js";

/** What `buildModel` builds. */
export interface BuildModelOptions {
  /** The model's shape; defaults fill the rest (see config.ts). */
  config: Partial<ModelConfig>;
  /** The largest batch the model will run (see `capacityFor`). */
  capacity: ModelCapacity;
  /** The kernels: a kind to create, or a backend the caller owns (then not disposed by `dispose`). */
  backend: BackendKind | Backend;
  /** Worker threads when creating the wasm backend; 0 = one per core. Default 0. */
  threads?: number;
  /** First weights: a generator for a fresh initialisation (see params.ts), or tensors to load. */
  weights: Rng | Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> }>;
}

/** A model on its backend. */
export interface BuiltModel {
  model: MlmModel;
  backend: Backend;
  /** Stops the backend (its worker threads) when `buildModel` created it. */
  dispose(): void;
}

/**
 * Builds a model as described by `options`.
 *
 * @example
 *   const { model, backend, dispose } = await buildModel({
 *     config: { vocabSize: 25000 },
 *     capacity: capacityFor([trainLoader, validLoader]),
 *     backend: "wasm",
 *     weights: Rng.derive(seed, "init"),
 *   });
 *   try { model.forwardBackward(trainLoader.next().batch, { dropoutRng }); } finally { dispose(); }
 */
export async function buildModel(options: BuildModelOptions): Promise<BuiltModel> {
  const given = options.backend;
  const owned = typeof given === "string";
  const backend =
    typeof given === "string" ? await createBackend(given, options.threads ?? DEFAULT_CONFIG.threads) : given;
  const dispose = (): void => {
    if (owned) backend.dispose();
  };
  try {
    const model = new MlmModel(backend, options.config, options.capacity);
    if (options.weights instanceof Rng) model.init(options.weights);
    else model.loadTensors(options.weights);
    return { model, backend, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * Buffers for the largest batch any of `loaders` makes (rows and sentences; see
 * MlmDataLoader.largestBatch). The head runs in chunks of the model's default size.
 */
export function capacityFor(loaders: readonly Pick<MlmDataLoader, "largestBatch">[]): ModelCapacity {
  let maxRows = 1;
  let maxSeqs = 1;
  for (const loader of loaders) {
    const largest = loader.largestBatch();
    maxRows = Math.max(maxRows, largest.maxRows);
    maxSeqs = Math.max(maxSeqs, largest.maxSeqs);
  }
  return { maxRows, maxSeqs };
}
