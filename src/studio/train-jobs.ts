/**
 * Runs started from the studio's form: each is a child `mlm train` process, so the server never
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
 *   jobs.stop("small");
 *   const stillSaving = await jobs.stopAll(60_000); // [] once every job has saved and exited
 */
import { spawn, type ChildProcess } from "node:child_process";
import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_TABLE, checkValue, flagName, resolveConfig, type TrainConfig } from "../config/index.js";
import { projectRoot } from "../data/paths.js";
import { HttpError, stringField } from "./http.js";
import { insideFolder } from "./safe-path.js";

/** The settings the form offers (what a first experiment varies); others keep their defaults. */
export const FORM_SETTINGS = [
  "maxSteps",
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
] as const satisfies readonly (keyof TrainConfig)[];

/** The form's settings as the page draws them: key, flag, and the table's kind, default, bounds, choices and help. */
export function formFields(): Record<string, unknown>[] {
  return FORM_SETTINGS.map((key) => ({ key, flag: `--${flagName(key)}`, ...CONFIG_TABLE[key] }));
}

/** A run folder's name: one path segment, nothing a shell or URL would treat specially. */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

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

/** Checks the form's settings one by one with the table's checks, then together; errors name their field. */
export function checkFormSettings(raw: unknown): Partial<TrainConfig> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new HttpError(400, '"settings" must be an object', "settings");
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(FORM_SETTINGS as readonly string[]).includes(key))
      throw new HttpError(400, `${key}: not a setting of the form`, key);
    if (value === "" || value === undefined) continue; // left empty: the default
    try {
      checked[key] = checkValue(CONFIG_TABLE[key as keyof TrainConfig], value, key);
    } catch (err) {
      throw new HttpError(400, (err as Error).message, key);
    }
  }
  try {
    resolveConfig(checked, "settings");
  } catch (err) {
    // A rule between keys ("dModel (100) must be a multiple of numHeads (8)") belongs to the first key it names.
    const message = (err as Error).message;
    const field = FORM_SETTINGS.find((k) => message.includes(k)) ?? "settings";
    throw new HttpError(400, message, field);
  }
  return checked;
}

export class TrainJobs {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly options: TrainJobsOptions) {}

  /** Starts `mlm train` on the form's corpus and settings into a new folder of the runs folder; returns its id. */
  async start(body: Record<string, unknown>): Promise<{ id: string; pid: number }> {
    const corpusName = stringField(body, "corpus");
    const corpus = await insideFolder(this.options.dataDir, corpusName, "corpus").catch(() => {
      throw new HttpError(400, `no corpus named "${corpusName}" in the data folder`, "corpus");
    });
    if (!(await stat(corpus)).isFile()) throw new HttpError(400, `"${corpusName}" is not a file`, "corpus");
    const name =
      stringField(body, "name", { optional: true }) ||
      new Date().toISOString().slice(0, 19).replace("T", "_").replace(/:/g, "-");
    if (!RUN_NAME.test(name))
      throw new HttpError(
        400,
        "a run name is letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
        "name",
      );
    const outDir = join(await realpath(this.options.runsDir), name);
    if ((await stat(outDir).catch(() => null)) !== null || this.jobs.has(name))
      throw new HttpError(409, `a run named ${name} already exists`, "name");
    const settings = checkFormSettings(body.settings ?? {});

    const cache = this.options.cacheDir === undefined ? [] : ["--cache-dir", this.options.cacheDir];
    const args = [
      join(projectRoot(), "bin", "mlm.js"),
      "train",
      corpus,
      ...settingFlags(settings),
      ...cache,
      "--out-dir",
      outDir,
    ];
    // detached: its own process group, out of reach of the signals of the studio's terminal.
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
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
