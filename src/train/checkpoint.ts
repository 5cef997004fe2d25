/**
 * A checkpoint: one directory holding everything needed to use the model or resume training.
 *
 *   config.json             model and training settings (any JSON object)
 *   model.safetensors       the parameters, named float32 tensors
 *   tokenizer.json          the tokenizer, as given (HF tokenizers JSON)
 *   train_state.json        step, epoch, position in the epoch, best validation loss, RNG states...
 *   optimizer.safetensors   optimizer moments (e.g. "m.<param>" / "v.<param>"), when given
 *
 * The directory is written with `writeDirectoryAtomic`: a crash at any moment leaves either the
 * previous complete checkpoint or the new complete one (see src/track/atomic-write.ts), and
 * `loadCheckpoint` first repairs what an interrupted save left behind.
 *
 * @example
 *   saveCheckpoint("runs/tiny/checkpoint", {
 *     config: { dModel: 128, layers: 2 },
 *     tensors: [{ name: "embed.weight", shape: [8000, 128], data: embed }],
 *     tokenizerJson: readFileSync("tokenizer.json", "utf8"),
 *     state: { step: 2000, epoch: 1, batchInEpoch: 40, bestValidLoss: 3.1, rng: rng.state() },
 *     optimizer: [{ name: "m.embed.weight", ... }, { name: "v.embed.weight", ... }],
 *   });
 *   const ckpt = loadCheckpoint("runs/tiny/checkpoint");
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type NamedTensor, readSafetensors, writeSafetensors } from "../model/safetensors.js";
import {
  type DirectoryWriteOptions,
  readableDirectory,
  recoverDirectory,
  writeDirectoryAtomic,
} from "../track/atomic-write.js";

export type { NamedTensor } from "../model/safetensors.js";

/** Everything a checkpoint holds. The model code defines the tensor names. */
export interface Checkpoint<
  Config extends object = Record<string, unknown>,
  State extends object = Record<string, unknown>,
> {
  config: Config;
  /** Model parameters. Loaded back in file order (sorted by name), so look them up by name. */
  tensors: NamedTensor[];
  tokenizerJson: string;
  state: State;
  optimizer?: NamedTensor[];
}

/** File names inside a checkpoint directory. */
export const CHECKPOINT_FILES = {
  config: "config.json",
  model: "model.safetensors",
  tokenizer: "tokenizer.json",
  state: "train_state.json",
  optimizer: "optimizer.safetensors",
} as const;

function jsonText(value: unknown, what: string): string {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined || typeof value !== "object" || value === null) {
    throw new Error(`saveCheckpoint: ${what} must be a JSON object`);
  }
  return text + "\n";
}

/**
 * Writes the checkpoint to `dir` as one unit (replacing any previous one there). `options.onStage`
 * is a test hook to simulate crashes at each stage of the swap.
 */
export function saveCheckpoint(
  dir: string,
  ckpt: Checkpoint<object, object>,
  options: DirectoryWriteOptions = {},
): void {
  // Serialise the JSON parts first, so a bad value fails before anything touches the disk.
  const config = jsonText(ckpt.config, "config");
  const state = jsonText(ckpt.state, "state");
  const model = writeSafetensors(ckpt.tensors);
  const optimizer = ckpt.optimizer === undefined ? undefined : writeSafetensors(ckpt.optimizer);
  writeDirectoryAtomic(
    dir,
    (out) => {
      out.writeFile(CHECKPOINT_FILES.config, config);
      out.writeFile(CHECKPOINT_FILES.tokenizer, ckpt.tokenizerJson);
      out.writeFile(CHECKPOINT_FILES.model, model);
      if (optimizer !== undefined) out.writeFile(CHECKPOINT_FILES.optimizer, optimizer);
      out.writeFile(CHECKPOINT_FILES.state, state);
    },
    options,
  );
}

function readJsonObject(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: expected a JSON object (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function readTensors(path: string): NamedTensor[] {
  return [...readSafetensors(readFileSync(path), path)].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
}

export interface LoadCheckpointOptions {
  /**
   * Repair the leftovers of an interrupted save first (restore the previous checkpoint if the crash
   * hit between the two renames, delete temporary directories). Only the run's owner (the trainer,
   * resuming) may do this: a reader must not delete the temporary directory of a trainer at work.
   * Without it the checkpoint is read as it is, or from the previous complete copy mid-swap.
   */
  repair?: boolean;
  /** Read optimizer.safetensors (the Adam moments, twice the weights' size); inference does not need it. */
  optimizer?: boolean;
}

/**
 * Loads a checkpoint written by `saveCheckpoint`. Throws naming the missing or malformed file.
 * The type parameters only cast; validate fields where they are used.
 */
export function loadCheckpoint<
  Config extends object = Record<string, unknown>,
  State extends object = Record<string, unknown>,
>(target: string, options: LoadCheckpointOptions = {}): Checkpoint<Config, State> {
  if (options.repair) recoverDirectory(target);
  const dir = readableDirectory(target);
  if (!existsSync(dir)) throw new Error(`${target}: no checkpoint directory`);
  const path = (name: string): string => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new Error(`${p}: missing from the checkpoint`);
    return p;
  };
  const optimizerPath = join(dir, CHECKPOINT_FILES.optimizer);
  return {
    config: readJsonObject(path(CHECKPOINT_FILES.config)) as Config,
    tensors: readTensors(path(CHECKPOINT_FILES.model)),
    tokenizerJson: readFileSync(path(CHECKPOINT_FILES.tokenizer), "utf8"),
    state: readJsonObject(path(CHECKPOINT_FILES.state)) as State,
    optimizer: options.optimizer !== false && existsSync(optimizerPath) ? readTensors(optimizerPath) : undefined,
  };
}
