/**
 * A run directory as an object: its files by role (layout.ts), read and written through one storage.
 * The trainer writes a run through it; pipelines, `mlm runs` and `mlm eval` read runs through it.
 *
 * @example
 *   const run = new RunDirectory("runs/demo");
 *   await run.writeConfig(config);
 *   const log = await run.openMetrics();
 *   await run.saveCheckpoint(run.bestDir, { config, modelConfig, tensors, tokenizerJson, state, optimizer });
 *   await run.latestCheckpoint(); // "/.../runs/demo/last-00000300", or null
 */
import type { TrainConfig } from "../config/index.js";
import type { ModelConfig, NamedTensor } from "../model/index.js";
import { platform, type Storage } from "../platform/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { readableDirectory, type DirectoryWriteOptions } from "./atomic-directory.js";
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type LoadCheckpointOptions } from "./checkpoint.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";
import { textFingerprint } from "../util/sha256.js";
import { checkRunInputs, fingerprintStoredFile, readRunInputs, writeRunInputs } from "./inputs.js";
import { jsonObjectText, readJsonObject } from "./json-file.js";
import { CHECKPOINT_FILES, isLastCheckpointName, isRunEntryName, lastCheckpointName, RUN_FILES } from "./layout.js";
import { acquireRunLock, type RunLock } from "./lock.js";
import { MetricsLog, readMetricsFile, truncateMetrics, type MetricsRecord } from "./metrics.js";
import { checkpointConfigRecord, parseRunConfig, runConfigRecord } from "./run-config.js";
import { readRunStatus, writeRunStatus, type RunStatus } from "./status.js";

/** What the trainer saves in a checkpoint of its run. */
export interface RunCheckpoint {
  config: TrainConfig;
  modelConfig: ModelConfig;
  tensors: NamedTensor[];
  tokenizerJson: string;
  /** The trainer's state (train_state.json). */
  state: object;
  /** The Adam moments; absent where no resume reads them (best/). */
  optimizer?: NamedTensor[];
}

/** The `last-*` checkpoints of a run, oldest first (full paths). */
export async function listLastCheckpoints(runDir: string, storage: Storage = platform().storage): Promise<string[]> {
  return (await storage.list(runDir))
    .filter(isLastCheckpointName)
    .sort()
    .map((name) => storage.path.join(runDir, name));
}

/**
 * Finds the checkpoint of `dir`: `dir` itself when it holds model.safetensors, else `dir/best`, else
 * the newest `dir/last-*`. Throws a one-line error naming `dir` when there is none.
 *
 * @example
 *   await resolveCheckpointDir("runs/tatoeba");      // { checkpointDir: "runs/tatoeba/best", runDir: "runs/tatoeba" }
 *   await resolveCheckpointDir("runs/tatoeba/best"); // the same
 */
export async function resolveCheckpointDir(
  dir: string,
  storage: Storage = platform().storage,
): Promise<{ checkpointDir: string; runDir: string | null }> {
  const { path } = storage;
  // Mid-swap (a trainer saving this very checkpoint) the path is briefly missing: its aside copy counts.
  const info = await storage.stat(await readableDirectory(dir, storage));
  if (info === null) throw new Error(`${dir}: no such directory (expected a run directory or a checkpoint directory)`);
  if (info.kind !== "directory")
    throw new Error(`${dir}: not a directory (expected a run directory or a checkpoint directory)`);
  const exists = async (p: string): Promise<boolean> => (await storage.stat(p)) !== null;
  // The checkpoint itself, its aside copy while a save swaps it, or the new one once the swap ended.
  const holdsModel = async (checkpoint: string): Promise<boolean> =>
    (await exists(path.join(checkpoint, CHECKPOINT_FILES.model))) ||
    (await exists(path.join(await readableDirectory(checkpoint, storage), CHECKPOINT_FILES.model))) ||
    (await exists(path.join(checkpoint, CHECKPOINT_FILES.model)));
  if (await holdsModel(dir)) {
    const parent = path.resolve(dir, "..");
    return { checkpointDir: dir, runDir: (await exists(path.join(parent, RUN_FILES.config))) ? parent : null };
  }
  const best = path.join(dir, RUN_FILES.best);
  if (await holdsModel(best)) return { checkpointDir: best, runDir: dir };
  const lasts = await listLastCheckpoints(dir, storage);
  if (lasts.length > 0) return { checkpointDir: lasts[lasts.length - 1], runDir: dir };
  throw new Error(
    `${dir}: not a run directory (no ${RUN_FILES.best}/ or last-*/ checkpoint) nor a checkpoint directory (no ${CHECKPOINT_FILES.model})`,
  );
}

/** How often `loadLocatedCheckpoint` locates a checkpoint again after the one located vanished. */
const LOCATE_ATTEMPTS = 5;

/**
 * Loads the checkpoint that `locate` names (as one whole checkpoint: loadCheckpoint), locating it
 * again when it vanished while being read: a trainer prunes its older last-* checkpoints after each
 * save, so a reader beside it gets the newest one of some moment of its read, never an error.
 *
 * @example
 *   const { dir, checkpoint } = await loadLocatedCheckpoint(
 *     async () => (await resolveCheckpointDir("runs/a")).checkpointDir,
 *     { optimizer: false },
 *   );
 */
export async function loadLocatedCheckpoint<
  Config extends object = Record<string, unknown>,
  State extends object = Record<string, unknown>,
>(
  locate: () => Promise<string>,
  options: LoadCheckpointOptions = {},
): Promise<{ dir: string; checkpoint: Checkpoint<Config, State> }> {
  const storage = options.storage ?? platform().storage;
  for (let attempt = 1; ; attempt++) {
    const dir = await locate();
    try {
      return { dir, checkpoint: await loadCheckpoint<Config, State>(dir, options) };
    } catch (err) {
      const gone = (await storage.stat(await readableDirectory(dir, storage))) === null;
      if (!gone || attempt >= LOCATE_ATTEMPTS) throw err;
    }
  }
}

/** One run directory; see the module comment. */
export class RunDirectory {
  /** The directory's absolute path. */
  readonly dir: string;

  constructor(
    dir: string,
    readonly storage: Storage = platform().storage,
  ) {
    this.dir = storage.path.resolve(dir);
  }

  /** The path of one of the run's files. */
  file(name: keyof typeof RUN_FILES): string {
    return this.storage.path.join(this.dir, RUN_FILES[name]);
  }

  /**
   * Takes the run's lock (lock.ts), creating the directory: call it before touching anything else in
   * the directory. Throws naming the holder when another trainer has it.
   */
  lock(log?: (line: string) => void): Promise<RunLock> {
    return acquireRunLock(this.dir, { storage: this.storage, log });
  }

  /**
   * The entries a run writes here (files, checkpoints, leftovers of interrupted writes; not the lock,
   * nor anything else the folder holds), as full paths.
   */
  async runEntries(): Promise<string[]> {
    return (await this.storage.list(this.dir)).filter(isRunEntryName).map((n) => this.storage.path.join(this.dir, n));
  }

  /**
   * Records the fingerprints of the corpus (`corpus`), of the tokenizer.json written here and of a
   * fine-tuning run's validation file (`validPath`, fingerprinted now) (inputs.ts).
   */
  async writeInputs(corpus: FileFingerprint | null, validPath: string | null = null): Promise<void> {
    const path = this.file("tokenizer");
    const tokenizer = textFingerprint(this.storage.path.resolve(path), await this.storage.readText(path));
    const valid = validPath === null ? null : await fingerprintStoredFile(validPath, this.storage);
    if (validPath !== null && valid === null) throw new Error(`${validPath}: file not found`);
    await writeRunInputs(this.dir, valid === null ? { corpus, tokenizer } : { corpus, tokenizer, valid }, this.storage);
  }

  /**
   * Refuses a corpus (fingerprinted by `corpus`), validation file or tokenizer.json that changed since
   * the run started (inputs.ts).
   */
  checkInputs(corpus: () => Promise<FileFingerprint | null>, consequence: string): Promise<void> {
    return checkRunInputs(this.dir, corpus, consequence, this.storage);
  }

  /** The checkpoint with the lowest validation loss. */
  get bestDir(): string {
    return this.file("best");
  }

  /** The latest checkpoint of `step`. */
  lastDir(step: number): string {
    return this.storage.path.join(this.dir, lastCheckpointName(step));
  }

  /** The `last-*` checkpoints, oldest first. */
  lastCheckpoints(): Promise<string[]> {
    return listLastCheckpoints(this.dir, this.storage);
  }

  /** The newest `last-*` checkpoint, the one a resumed run continues from; null when there is none. */
  async latestCheckpoint(): Promise<string | null> {
    return (await this.lastCheckpoints()).at(-1) ?? null;
  }

  /** Deletes all but the newest `keep` latest checkpoints. */
  async pruneLastCheckpoints(keep: number): Promise<void> {
    const all = await this.lastCheckpoints();
    for (const dir of all.slice(0, Math.max(0, all.length - keep))) await this.storage.remove(dir);
  }

  /** Writes config.json: the format version and every setting, with `outDir` this directory. */
  async writeConfig(config: TrainConfig): Promise<void> {
    const path = this.file("config");
    await this.storage.writeAtomic(path, jsonObjectText(runConfigRecord(config, this.dir), path));
  }

  /**
   * The settings the run was started with (any format version). A corpus recorded as a relative
   * path (runs written before config.json held absolute ones) is the file inputs.json fingerprinted
   * at the run's start, by its absolute path: the run resumes from any working folder.
   */
  async readConfig(): Promise<TrainConfig> {
    const path = this.file("config");
    if ((await this.storage.stat(path)) === null)
      throw new Error(`${this.dir}: not a run directory (no ${RUN_FILES.config})`);
    const config = parseRunConfig(await readJsonObject(this.storage, path), path);
    if (config.data === null || this.storage.path.resolve(config.data) === config.data) return config;
    const recorded = (await readRunInputs(this.dir, this.storage))?.corpus?.path;
    return recorded === undefined ? config : { ...config, data: recorded };
  }

  /** Writes tokenizer.json. */
  async writeTokenizer(tokenizer: Tokenizer): Promise<void> {
    await this.storage.writeAtomic(this.file("tokenizer"), tokenizer.toString());
  }

  /** The run's tokenizer. */
  async readTokenizer(): Promise<Tokenizer> {
    const path = this.file("tokenizer");
    return Tokenizer.fromJSON(await this.storage.readText(path), path);
  }

  /** Writes a checkpoint of this run to `dir` (`bestDir` or `lastDir(step)`) as one unit. */
  async saveCheckpoint(dir: string, ckpt: RunCheckpoint, options: DirectoryWriteOptions = {}): Promise<void> {
    const { config, modelConfig, ...files } = ckpt;
    await saveCheckpoint(
      dir,
      { ...files, config: checkpointConfigRecord(config, this.dir, modelConfig) },
      { storage: this.storage, ...options },
    );
  }

  /** metrics.jsonl, open for appending (emptied first with `append: false`). */
  openMetrics(options: { append?: boolean } = {}): Promise<MetricsLog> {
    return MetricsLog.open(this.file("metrics"), { ...options, storage: this.storage });
  }

  /** Every record of metrics.jsonl. */
  readMetrics(): Promise<MetricsRecord[]> {
    return readMetricsFile(this.file("metrics"), this.storage);
  }

  /** Drops the metrics logged after `step` (a resumed run logs them again). */
  truncateMetrics(step: number): Promise<void> {
    return truncateMetrics(this.file("metrics"), step, this.storage);
  }

  /** Records where the run stands (status.json). */
  writeStatus(status: Omit<RunStatus, "time"> & { time?: number }): Promise<void> {
    return writeRunStatus(this.dir, status, this.storage);
  }

  /** The recorded status, or null when there is none. */
  readStatus(): Promise<RunStatus | null> {
    return readRunStatus(this.dir, this.storage);
  }
}
