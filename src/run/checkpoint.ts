/**
 * A checkpoint: one directory holding everything needed to use the model or resume training. It
 * holds exactly these files (names from layout.ts, CHECKPOINT_FILES), one per field of `Checkpoint`:
 *
 *   config.json            `config`, a JSON object (a run's: its settings and the model's shape)
 *   model.safetensors      `tensors`, float32, by name (the model's: "embed.weight",
 *                          "layers.0.attn.q.weight", ... see model/params.ts)
 *   tokenizer.json         `tokenizerJson`, as given
 *   train_state.json       `state`, a JSON object (the trainer's TrainState)
 *   optimizer.safetensors  `optimizer`, only when given: the trainer gives its Adam moments "adam.m" and
 *                          "adam.v" (each [number of parameter floats]) to last-<step>/ and not to best/,
 *                          which is for inference; a load without it returns `optimizer` undefined
 *
 * The directory is written with `writeDirectoryAtomic`: a crash at any moment leaves either the
 * previous complete checkpoint or the new complete one (see atomic-directory.ts), and
 * `loadCheckpoint` with `repair` first repairs what an interrupted save left behind.
 *
 * @example
 *   await saveCheckpoint("runs/tiny/last-00002000", {
 *     config: { formatVersion: 1, dModel: 128 },
 *     tensors: model.tensors(),
 *     tokenizerJson: tokenizer.toString(),
 *     state: { step: 2000 },
 *     optimizer: [{ name: "adam.m", shape: [n], data: m }, { name: "adam.v", shape: [n], data: v }],
 *   });
 *   const ckpt = await loadCheckpoint("runs/tiny/last-00002000");
 */
import type { NamedTensor } from "../model/index.js";
import { platform, type Storage } from "../platform/index.js";
import {
  type DirectoryWriteOptions,
  readableDirectory,
  recoverDirectory,
  writeDirectoryAtomic,
} from "./atomic-directory.js";
import { jsonObjectText, readJsonObject } from "./json-file.js";
import { CHECKPOINT_FILES } from "./layout.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

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
  /** Optimizer state (optimizer.safetensors); absent from checkpoints that no resume reads. */
  optimizer?: NamedTensor[];
}

/**
 * Writes the checkpoint to `dir` as one unit (replacing any previous one there). `options.onStage`
 * is a test hook to simulate crashes at each stage of the swap.
 */
export async function saveCheckpoint(
  dir: string,
  ckpt: Checkpoint<object, object>,
  options: DirectoryWriteOptions = {},
): Promise<void> {
  // Serialise the JSON parts first, so a bad value fails before anything touches the storage.
  const config = jsonObjectText(ckpt.config, "saveCheckpoint: config");
  const state = jsonObjectText(ckpt.state, "saveCheckpoint: state");
  const model = writeSafetensors(ckpt.tensors);
  const optimizer = ckpt.optimizer === undefined ? undefined : writeSafetensors(ckpt.optimizer);
  await writeDirectoryAtomic(
    dir,
    async (out) => {
      await out.writeFile(CHECKPOINT_FILES.config, config);
      await out.writeFile(CHECKPOINT_FILES.tokenizer, ckpt.tokenizerJson);
      await out.writeFile(CHECKPOINT_FILES.model, model);
      if (optimizer !== undefined) await out.writeFile(CHECKPOINT_FILES.optimizer, optimizer);
      await out.writeFile(CHECKPOINT_FILES.state, state);
    },
    options,
  );
}

async function readTensors(storage: Storage, path: string): Promise<NamedTensor[]> {
  const tensors = readSafetensors(await storage.readBytes(path), path);
  return [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
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
  /** Where the checkpoint lives (default: the platform's storage). */
  storage?: Storage;
  /**
   * Checks train_state.json (parsed, and its path for messages) and returns it typed; throw a one-line
   * error naming the file and field. Without it the state is only cast.
   */
  parseState?: (raw: Record<string, unknown>, source: string) => object;
}

async function readState<State>(
  storage: Storage,
  path: string,
  parse: LoadCheckpointOptions["parseState"],
): Promise<State> {
  const raw = await readJsonObject(storage, path);
  return (parse === undefined ? raw : parse(raw, path)) as State;
}

/** How often a reader reads a checkpoint again when a writer swapped it while it was read. */
const READ_ATTEMPTS = 50;

/** The pause between two reads of a checkpoint being swapped (ms). */
const RETRY_PAUSE_MS = 10;

/**
 * Loads a checkpoint written by `saveCheckpoint`. Throws naming the missing or malformed file.
 * The type parameters only cast; validate fields where they are used (`parseState` for the state).
 *
 * A reader beside a trainer always gets one whole checkpoint: the directory's version (inode and
 * change time, `EntryInfo.version`) is compared before and after its files are read, and a read
 * during which the writer swapped it in or out (a file missing, or the version changed) starts
 * again, up to READ_ATTEMPTS times, and so does a read of the aside copy that lost its files. A file
 * missing from the directory itself, unchanged, is an error at once.
 */
export async function loadCheckpoint<
  Config extends object = Record<string, unknown>,
  State extends object = Record<string, unknown>,
>(target: string, options: LoadCheckpointOptions = {}): Promise<Checkpoint<Config, State>> {
  const storage = options.storage ?? platform().storage;
  if (options.repair) await recoverDirectory(target, storage);
  for (let attempt = 1; ; attempt++) {
    const dir = await readableDirectory(target, storage);
    const before = await storage.stat(dir);
    if (before === null) {
      // Missing between a swap's two renames: the swap may also have ended (its leftovers gone, the new
      // directory in place) by the time the parent folder is listed, so look for the directory again.
      const swapped = (await swapping(storage, target)) || (await storage.stat(target)) !== null;
      if (attempt < READ_ATTEMPTS && swapped) {
        await pause();
        continue;
      }
      throw new Error(`${target}: no checkpoint directory`);
    }
    let read: Checkpoint<Config, State> | undefined;
    let failure: unknown;
    try {
      read = await readCheckpointFiles<Config, State>(storage, dir, options);
    } catch (err) {
      failure = err;
    }
    const after = await storage.stat(dir);
    const unchanged = after !== null && after.version === before.version;
    if (unchanged && read !== undefined) return read;
    // The previous copy set aside mid-swap (dir is not target) is removed file by file once the swap
    // ends: a read that found its files gone while its folder looked unchanged reads the new one.
    const aside = dir !== target;
    if ((unchanged && !aside) || attempt >= READ_ATTEMPTS)
      throw failure ?? new Error(`${target}: replaced during every read`);
    await pause();
  }
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));

/** Whether a save of `target` is under way (its temporary or aside copy exists). */
async function swapping(storage: Storage, target: string): Promise<boolean> {
  const resolved = storage.path.resolve(target);
  const base = storage.path.basename(resolved);
  const names = await storage.list(storage.path.dirname(resolved));
  return names.some((n) => n.startsWith(`${base}.tmp-`) || n.startsWith(`${base}.old-`));
}

/** Reads every file of checkpoint directory `dir` as it is now. */
async function readCheckpointFiles<Config extends object, State extends object>(
  storage: Storage,
  dir: string,
  options: LoadCheckpointOptions,
): Promise<Checkpoint<Config, State>> {
  const path = async (name: string): Promise<string> => {
    const p = storage.path.join(dir, name);
    if ((await storage.stat(p)) === null) throw new Error(`${p}: missing from the checkpoint`);
    return p;
  };
  const optimizerPath = storage.path.join(dir, CHECKPOINT_FILES.optimizer);
  const withOptimizer = options.optimizer !== false && (await storage.stat(optimizerPath)) !== null;
  return {
    config: (await readJsonObject(storage, await path(CHECKPOINT_FILES.config))) as Config,
    tensors: await readTensors(storage, await path(CHECKPOINT_FILES.model)),
    tokenizerJson: await storage.readText(await path(CHECKPOINT_FILES.tokenizer)),
    state: await readState<State>(storage, await path(CHECKPOINT_FILES.state), options.parseState),
    optimizer: withOptimizer ? await readTensors(storage, optimizerPath) : undefined,
  };
}

/**
 * Runs `use`, which applies what was read from one file of the checkpoint in `dir` (weights to a
 * model, moments to an optimizer); its error becomes one line naming that file. Returns its result.
 *
 * @example
 *   fromCheckpointFile("runs/a/best", "model", () => model.loadTensors(ckpt.tensors));
 *   // Error: runs/a/best/model.safetensors: loadTensors: tensor 'embed.weight' has shape [16, 80], expected [80, 16]
 */
export function fromCheckpointFile<T>(
  dir: string,
  file: keyof typeof CHECKPOINT_FILES,
  use: () => T,
  storage: Storage = platform().storage,
): T {
  try {
    return use();
  } catch (err) {
    throw new Error(`${storage.path.join(dir, CHECKPOINT_FILES[file])}: ${(err as Error).message}`);
  }
}
