/**
 * Runs started from the studio's forms: each is a child `mlm train` (or `mlm finetune`) process, so the server never
 * trains itself and a job outlives nothing it should not. The form's settings are checked by the
 * configuration table's own checks (the same messages as the command line), each error naming its
 * field; stopping sends SIGINT, on which `mlm train` saves a checkpoint to resume from.
 *
 * Each job runs in its own process group (a detached spawn): Ctrl-C in the studio's terminal reaches
 * the studio only, which then sends each job exactly one SIGINT (a second one means "exit at once,
 * without saving", see src/cli/interrupts.ts) and waits for it to save. A job whose studio is killed
 * outright stops as well, and saves: its stderr pipe closes, which `mlm train` takes as SIGHUP.
 *
 * @example
 *   const jobs = new TrainJobs({ runsDir: "runs", dataDir: "data" });
 *   await jobs.start({ corpus: "tatoeba-en.txt", name: "small", settings: { maxSteps: 300 } });
 *   const runDirOf = async (id: string) => `runs/${id}`; // the studio checks the id inside the runs folder
 *   await jobs.startFinetune({ from: "small", data: "spam.tsv", name: "spam", settings: { maxSteps: 100 } }, runDirOf);
 *   jobs.stop("small");
 *   const stillSaving = await jobs.stopAll(60_000); // [] once every job has saved and exited
 */
import { spawn, type ChildProcess } from "node:child_process";
import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_TABLE, checkValue, flagName, resolveConfig, type TrainConfig } from "../config/index.js";
import { projectRoot } from "../data/paths.js";
import { HttpError, stringField } from "./http.js";
import { RUN_NAME } from "./runs-api.js";
import { insideFolder } from "./safe-path.js";

/** The settings the form offers (what a first experiment varies); others keep their defaults. */
export const FORM_SETTINGS = [
  "recipe",
  "maxSteps",
  "timeBudget",
  "epochs",
  "batchSize",
  "learningRate",
  "numLayers",
  "dModel",
  "numHeads",
  "dFF",
  "dropout",
  "vocabSize",
  "maxLen",
  "sample",
  "evalSteps",
  "logSteps",
  "seed",
  "backend",
  "threads",
] as const satisfies readonly (keyof TrainConfig)[];

/** The settings the fine-tuning form offers: the model's shape and tokenizer come from the pre-trained run. */
export const FINETUNE_FORM_SETTINGS = [
  "maxSteps",
  "timeBudget",
  "epochs",
  "batchSize",
  "learningRate",
  "evalSteps",
  "logSteps",
  "seed",
  "backend",
  "threads",
] as const satisfies readonly (keyof TrainConfig)[];

/** A form's settings as the page draws them: key, flag, and the table's kind, default, bounds, choices and help. */
export function formFields(keys: readonly (keyof TrainConfig)[] = FORM_SETTINGS): Record<string, unknown>[] {
  return keys.map((key) => ({ key, flag: `--${flagName(key)}`, ...CONFIG_TABLE[key] }));
}

/** Labelled data files a fine-tuning form may name (what `mlm finetune` reads). */
const LABELLED_DATA = /\.(tsv|csv|jsonl)$/i;

/** The end of a job's stderr kept for the page (its last lines say why it stopped). */
const STDERR_TAIL = 4096;

/** How long `stopAll` waits by default for the jobs to save their checkpoints and exit. */
export const STOP_WAIT_MS = 60_000;

interface Job {
  child: ChildProcess;
  exitCode: number | null;
  /** Whether this studio has sent the job its one SIGINT. */
  stopSent: boolean;
  stderr: string;
  done: Promise<void>;
}

export interface TrainJobsOptions {
  runsDir: string;
  dataDir: string;
  /** --cache-dir of the children (their default, .cache/mlm-ts in the working folder, otherwise). */
  cacheDir?: string;
}

/** The `mlm train` flags of checked settings: `--max-steps 300`, `--shuffle` / `--no-shuffle`. */
function settingFlags(settings: Partial<TrainConfig>): string[] {
  return Object.entries(settings).flatMap(([key, value]) =>
    typeof value === "boolean"
      ? [value ? `--${flagName(key)}` : `--no-${flagName(key)}`]
      : [`--${flagName(key)}`, String(value)],
  );
}

/** A message with each camelCase key it names written as the form labels it (its flag's name): "batch-size must be ...". */
const asLabels = (message: string, keys: readonly string[]): string =>
  [...keys]
    .sort((x, y) => y.length - x.length)
    .reduce((m, k) => m.replace(new RegExp(`\\b${k}\\b`, "g"), flagName(k)), message);

/**
 * Checks the form's settings one by one with the table's checks, then together. Every bad field is
 * reported at once (`HttpError.errors`), each message naming settings as the form labels them.
 */
export function checkFormSettings(
  raw: unknown,
  keys: readonly (keyof TrainConfig)[] = FORM_SETTINGS,
): Partial<TrainConfig> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new HttpError(400, '"settings" must be an object', "settings");
  const checked: Record<string, unknown> = {};
  const errors: { field: string; error: string }[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!(keys as readonly string[]).includes(key)) {
      errors.push({ field: key, error: `${key}: not a setting of the form` });
      continue;
    }
    if (value === "" || value === undefined) continue; // left empty: the default
    try {
      checked[key] = checkValue(CONFIG_TABLE[key as keyof TrainConfig], value, key);
    } catch (err) {
      errors.push({ field: key, error: asLabels((err as Error).message, keys) });
    }
  }
  if (errors.length === 0)
    try {
      resolveConfig(checked, "settings");
    } catch (err) {
      // A rule between keys ("dModel (100) must be a multiple of numHeads (8)") belongs to the first key it names.
      const message = (err as Error).message;
      const field = keys.find((k) => new RegExp(`\\b${k}\\b`).test(message)) ?? "settings";
      errors.push({ field, error: asLabels(message, keys) });
    }
  if (errors.length > 0) throw new HttpError(400, errors[0].error, errors[0].field, errors);
  return checked;
}

/** A run name from the form (default: the date and time), checked to be one safe folder name. */
function runName(body: Record<string, unknown>): string {
  const name =
    stringField(body, "name", { optional: true }) ||
    new Date().toISOString().slice(0, 19).replace("T", "_").replace(/:/g, "-");
  if (!RUN_NAME.test(name))
    throw new HttpError(
      400,
      "a run name is letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
      "name",
    );
  return name;
}

export class TrainJobs {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly options: TrainJobsOptions) {}

  /** Starts `mlm train` on the form's corpus and settings into a new folder of the runs folder; returns its id. */
  async start(body: Record<string, unknown>): Promise<{ id: string; pid: number }> {
    const corpus = await this.dataFile(body, "corpus");
    const name = runName(body);
    const outDir = await this.newRunDir(name);
    const settings = checkFormSettings(body.settings ?? {});
    return this.spawnJob(name, ["train", corpus, ...settingFlags(settings), "--out-dir", outDir]);
  }

  /**
   * Starts `mlm finetune` on a labelled file of the data folder (`data`) from the pre-trained run
   * `from` (a run folder of the runs folder, `runDirOf` checks it) into a new run; returns its id.
   */
  async startFinetune(
    body: Record<string, unknown>,
    runDirOf: (id: string) => Promise<string>,
  ): Promise<{ id: string; pid: number }> {
    const data = await this.dataFile(body, "data");
    if (!LABELLED_DATA.test(data))
      throw new HttpError(400, "data: a .tsv, .csv or .jsonl file of labelled texts", "data");
    const fromId = stringField(body, "from");
    const from = await runDirOf(fromId).catch(() => {
      throw new HttpError(400, `from: no run named "${fromId}" in the runs folder`, "from");
    });
    const name = runName(body);
    const outDir = await this.newRunDir(name);
    const settings = checkFormSettings(body.settings ?? {}, FINETUNE_FORM_SETTINGS);
    return this.spawnJob(name, ["finetune", data, "--from", from, ...settingFlags(settings), "--out-dir", outDir]);
  }

  /** The real path of the data folder's file named by `body[key]`; 400 naming `key` otherwise. */
  private async dataFile(body: Record<string, unknown>, key: string): Promise<string> {
    const fileName = stringField(body, key);
    const path = await insideFolder(this.options.dataDir, fileName, key).catch(() => {
      throw new HttpError(400, `no file named "${fileName}" in the data folder`, key);
    });
    if (!(await stat(path)).isFile()) throw new HttpError(400, `"${fileName}" is not a file`, key);
    return path;
  }

  /** The path of a new run `name` in the runs folder; 409 when it exists or a job of ours has it. */
  private async newRunDir(name: string): Promise<string> {
    const outDir = join(await realpath(this.options.runsDir), name);
    if ((await stat(outDir).catch(() => null)) !== null || this.jobs.has(name))
      throw new HttpError(409, `a run named ${name} already exists`, "name");
    return outDir;
  }

  /** Resumes run `id` (`dir`: its folder) with `mlm train --resume` or `mlm finetune --resume`, as a job. */
  resume(id: string, dir: string, task: string): { id: string; pid: number } {
    if (this.jobs.get(id)?.exitCode === null) throw new HttpError(409, `${id} is already being trained by this studio`);
    return this.spawnJob(id, [task === "text-classification" ? "finetune" : "train", "--resume", dir]);
  }

  /** Runs `mlm ARGS` (with the studio's cache folder) as job `name`, keeping the end of its stderr. */
  private spawnJob(name: string, args: string[]): { id: string; pid: number } {
    const cache = this.options.cacheDir === undefined ? [] : ["--cache-dir", this.options.cacheDir];
    const argv = [join(projectRoot(), "bin", "mlm.js"), ...args, ...cache];
    // detached: its own process group, out of reach of the signals of the studio's terminal.
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"], detached: true });
    const job: Job = { child, exitCode: null, stopSent: false, stderr: "", done: Promise.resolve() };
    job.done = new Promise((resolve) => {
      child.on("error", (err) => {
        job.stderr += `\n${err.message}`;
        resolve();
      });
      child.on("exit", (code, signal) => {
        job.exitCode = code ?? (signal === null ? 1 : 128);
        resolve();
      });
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      job.stderr = (job.stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    this.jobs.set(name, job);
    return { id: name, pid: child.pid ?? -1 };
  }

  /**
   * Sends SIGINT to the job of run `id` (it saves a checkpoint and stops); 409 when none of ours runs
   * there. Asking again sends nothing more: a second SIGINT would stop the job without saving.
   */
  stop(id: string): void {
    const job = this.jobs.get(id);
    if (job === undefined || job.exitCode !== null)
      throw new HttpError(409, `no job started by this studio is running in ${id}`);
    this.interrupt(job);
  }

  private interrupt(job: Job): void {
    if (job.stopSent) return;
    job.stopSent = true;
    job.child.kill("SIGINT");
  }

  /** Whether a job of this studio is training run `id` now. */
  isRunning(id: string): boolean {
    return this.jobs.get(id)?.exitCode === null;
  }

  /** Moves a finished job's record (its log) to the run's new name. */
  renamed(from: string, to: string): void {
    const job = this.jobs.get(from);
    if (job === undefined) return;
    this.jobs.delete(from);
    this.jobs.set(to, job);
  }

  /** Forgets a finished job (its run was deleted). */
  forget(id: string): void {
    if (!this.isRunning(id)) this.jobs.delete(id);
  }

  /** What the studio knows of its jobs: running or the exit code, and the end of stderr. */
  describe(): Record<string, { running: boolean; exitCode: number | null; stderr: string }> {
    return Object.fromEntries(
      [...this.jobs].map(([id, j]) => [id, { running: j.exitCode === null, exitCode: j.exitCode, stderr: j.stderr }]),
    );
  }

  /**
   * Stops every running job (one SIGINT each: they save their checkpoints) and waits up to `waitMs`
   * for them to exit; returns the ids of those still saving then (they go on alone and finish their
   * save; `mlm runs` shows when).
   */
  async stopAll(waitMs: number = STOP_WAIT_MS): Promise<string[]> {
    for (const job of this.jobs.values()) if (job.exitCode === null) this.interrupt(job);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.jobs.values()].map((j) => j.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
    return [...this.jobs].filter(([, j]) => j.exitCode === null).map(([id]) => id);
  }
}
