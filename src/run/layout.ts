/**
 * The layout of a run directory, the one place that names its files:
 *
 *   RUN_DIR/
 *     config.json            {"formatVersion": 1, ...every setting of the run (TrainConfig)}
 *     tokenizer.json         the tokenizer (Hugging Face format)
 *     metrics.jsonl          one line per logged training loss or evaluation (metrics.ts)
 *     status.json            running / finished / interrupted / failed, when recorded (status.ts)
 *     curves.svg             the loss and accuracy curves, redrawn at each evaluation (track layer)
 *     inputs.json            fingerprints (size, SHA-256) of the corpus and tokenizer.json (inputs.ts)
 *     lock.json              while a trainer owns the run: its pid and host (lock.ts)
 *     events.out.tfevents.*  TensorBoard scalars (written by the track layer)
 *     best/                  checkpoint with the lowest validation loss so far
 *     last-<step>/           the latest checkpoints (--keep-last N of them), for --resume
 *
 *   CHECKPOINT/ (best/, last-<step>/)
 *     config.json            {"formatVersion": 1, ...the run's settings, "model": ModelConfig}
 *     model.safetensors      the parameters, named float32 tensors
 *     tokenizer.json         the tokenizer
 *     train_state.json       the trainer's state: step, loader position and generator, dropout generator,
 *                            best loss and step, evaluations so far, token and time counters, the
 *                            losses since the last log line, kernels (train/train-state.ts)
 *     optimizer.safetensors  the Adam moments, "adam.m" and "adam.v": written to last-<step>/ only (best/
 *                            is for inference; format 0 wrote them to both)
 *
 * Format versions (`formatVersion` of both config.json files) number the layout itself, apart from
 * the package's version (which stayed at 0.1.0 while the layout changed): 0 (RUN_FORMAT_UNVERSIONED),
 * when the field is absent, is the first layout (commit 59c8761; test/fixtures/run-v0 keeps one);
 * 1 adds the field itself and status.json (and, optional, inputs.json). Every version up to
 * RUN_FORMAT_VERSION loads; a newer one is refused with a message.
 */
import { platform } from "../platform/index.js";

/** The format version of a config.json without `formatVersion`: the first layout (see the module comment). */
export const RUN_FORMAT_UNVERSIONED = 0;

/** The format version this code writes, and the newest it reads. */
export const RUN_FORMAT_VERSION = 1;

/** Names of the files and folders of a run directory (see the module comment). */
export const RUN_FILES = {
  config: "config.json",
  tokenizer: "tokenizer.json",
  metrics: "metrics.jsonl",
  status: "status.json",
  curves: "curves.svg",
  inputs: "inputs.json",
  lock: "lock.json",
  best: "best",
} as const;

/** Start of the names of TensorBoard event files (the track layer writes them into the run directory). */
export const EVENTS_FILE_PREFIX = "events.out.tfevents.";

/** File names inside a checkpoint directory. */
export const CHECKPOINT_FILES = {
  config: "config.json",
  model: "model.safetensors",
  tokenizer: "tokenizer.json",
  state: "train_state.json",
  optimizer: "optimizer.safetensors",
} as const;

const LAST_PREFIX = "last-";

/** Directory name of the latest checkpoint at `step`. */
export function lastCheckpointName(step: number): string {
  return `${LAST_PREFIX}${String(step).padStart(8, "0")}`;
}

/** The step of a latest-checkpoint directory name (`last-00001200` is 1200). */
export function lastCheckpointStep(name: string): number {
  return Number(name.slice(LAST_PREFIX.length));
}

/** Whether `name` is a latest-checkpoint directory name (`last-` and digits). */
export function isLastCheckpointName(name: string): boolean {
  return name.startsWith(LAST_PREFIX) && /^\d+$/.test(name.slice(LAST_PREFIX.length));
}

/**
 * Whether `name` is an entry a training run writes into its directory (the lock excepted): its files,
 * checkpoints, and the leftovers of an interrupted write (`best.tmp-*`, `last-*.old-*`,
 * `config.json.tmp-*`).
 * What else a user keeps in the folder is not the run's.
 */
export function isRunEntryName(name: string): boolean {
  const base = name.replace(/\.(tmp|old)-[^/\\]*$/, ""); // a temporary file or checkpoint of an atomic write
  if (base === RUN_FILES.lock) return false;
  return (
    (Object.values(RUN_FILES) as string[]).includes(base) ||
    base.startsWith(EVENTS_FILE_PREFIX) ||
    isLastCheckpointName(base)
  );
}

/** Default run directory: runs/<YYYY-MM-DD_HH-MM-SS> under the working directory. */
export function defaultRunDir(now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace("T", "_").replace(/:/g, "-");
  return platform().storage.path.join("runs", stamp);
}

/**
 * The folder of a new run given no --out-dir: defaultRunDir, or with "-2", "-3", ... after it when a
 * run of the same second holds that name (two runs started in one second, as a script does).
 *
 * @example
 *   await newRunDir(); // "runs/2026-12-06_15-54-41", or "runs/2026-12-06_15-54-41-2" when that one exists
 */
export async function newRunDir(now = new Date(), storage = platform().storage): Promise<string> {
  const base = defaultRunDir(now);
  let dir = base;
  for (let k = 2; (await storage.stat(dir)) !== null; k++) dir = `${base}-${k}`;
  return dir;
}
