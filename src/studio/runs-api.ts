/**
 * The runs of the studio's folder, as the page and other clients read them: the listing, one run's
 * configuration, status and checkpoints, and the files of the run layout (for a page that opens a
 * run trained on the command line). Run ids are folder names directly under the runs folder.
 *
 * @example
 *   const runs = new RunsFolder("runs");
 *   await runs.list();                          // [{ id: "demo", status: "finished", steps: 300, ... }]
 *   await runs.file("demo", "best/model.safetensors"); // the real path, checked to be inside runs/demo
 *   await runs.curves("demo");                  // Uint8Array: the curves as columns (curve-columns.ts)
 */
import { constants } from "node:fs";
import { lstat, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { platform } from "../platform/index.js";
import {
  CHECKPOINT_FILES,
  isLastCheckpointName,
  isRunDirectory,
  listLastCheckpoints,
  readRunStatus,
  RUN_FILES,
  summarizeRun,
  type RunSummary,
} from "../run/index.js";
import { curveColumnsOfText, encodeCurveColumns } from "../run/curve-columns.js";
import { classificationEvaluations, type ClassificationEvaluation } from "./evaluations.js";
import { HttpError } from "./http.js";
import { insideFolder } from "./safe-path.js";

/** A run folder's name: one path segment, nothing a shell or URL would treat specially. */
export const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The settings the listing shows beside each run (the full configuration is one request away). */
export const KEY_SETTINGS = [
  "numLayers",
  "dModel",
  "numHeads",
  "dFF",
  "batchSize",
  "learningRate",
  "vocabSize",
  "maxSteps",
] as const;

/** Files of a run directory a client may fetch, and those of a checkpoint (under best/ or last-<step>/). */
const RUN_LEVEL_FILES = new Set<string>([
  RUN_FILES.config,
  RUN_FILES.tokenizer,
  RUN_FILES.metrics,
  RUN_FILES.status,
  RUN_FILES.curves,
]);
const CHECKPOINT_LEVEL_FILES = new Set<string>(Object.values(CHECKPOINT_FILES));

export interface RunListing {
  id: string;
  /** "fill-mask" (pre-training) or "text-classification" (fine-tuning), from config.json's task record. */
  task: string;
  /** The named set of settings it started from (config.json's recipe), null when unrecorded. */
  recipe: string | null;
  status: string;
  message?: string;
  corpus: string | null;
  settings: Record<string, unknown>;
  steps: number;
  bestValidLoss: number | null;
  bestStep: number | null;
  lastTrainLoss: number | null;
  seconds: number;
}

/**
 * Throws a 404 unless every file of `names` that exists in `dir` resolves inside `dir`: a run whose
 * config.json or metrics.jsonl is a link to elsewhere would otherwise be read out through the API.
 */
async function checkConfined(dir: string, names: Iterable<string>, what: string): Promise<void> {
  for (const name of names) {
    if ((await lstat(`${dir}/${name}`).catch(() => null)) === null) continue;
    await insideFolder(dir, name, what);
  }
}

const STOPPED =
  "status.json says running, but no trainer holds the run (killed or crashed): mlm train --resume continues from its latest checkpoint";

/**
 * Whether the trainer of a run recorded as running is gone: its lock.json is missing, or names a
 * process of this host that no longer exists (a lock of another host cannot be checked: still running).
 */
async function trainerGone(dir: string): Promise<boolean> {
  let lock: { pid?: unknown; host?: unknown };
  try {
    lock = JSON.parse(await readFile(join(dir, RUN_FILES.lock), "utf8")) as typeof lock;
  } catch {
    return true;
  }
  const { host } = platform().processOwner();
  return lock.host === host && typeof lock.pid === "number" && !platform().isProcessAlive(lock.pid);
}

/** A run's config.json as a plain object ({} when missing or unreadable: the listing still shows the run). */
async function readConfigObject(dir: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await readFile(`${dir}/${RUN_FILES.config}`, "utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export class RunsFolder {
  constructor(readonly root: string) {}

  /** Each run's listing with the sizes and times of the files it was read from: polling re-reads only what changed. */
  private readonly cache = new Map<string, { key: string; listing: RunListing }>();

  /** Each run's curves as a binary block, with the size and time of the metrics.jsonl they came from. */
  private readonly curvesCache = new Map<string, { key: string; bytes: Uint8Array }>();

  /**
   * Run `id`'s curves as columns in a binary block (see src/run/curve-columns.ts), made from the
   * complete lines of its metrics.jsonl (none yet: empty columns); kept until the file changes.
   */
  async curves(id: string): Promise<Uint8Array> {
    const dir = await this.dir(id);
    const info = await stat(join(dir, RUN_FILES.metrics)).catch(() => null);
    if (info === null) return encodeCurveColumns(curveColumnsOfText("", 0));
    const key = `${info.size}:${info.mtimeMs}`;
    const cached = this.curvesCache.get(id);
    if (cached?.key === key) return cached.bytes;
    // Never through a link: the run was checked to hold its own metrics.jsonl.
    const bytes = await readFile(await insideFolder(dir, RUN_FILES.metrics), {
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    });
    const end = bytes.lastIndexOf(10) + 1; // a line being written waits for the stream
    const block = encodeCurveColumns(curveColumnsOfText(bytes.subarray(0, end).toString("utf8"), end));
    this.curvesCache.set(id, { key, bytes: block });
    return block;
  }

  /** Run `id`'s classification evaluations with their confusion matrices (none for a masked-LM run). */
  async evaluations(id: string): Promise<ClassificationEvaluation[]> {
    const dir = await this.dir(id);
    if ((await stat(join(dir, RUN_FILES.metrics)).catch(() => null)) === null) return [];
    const bytes = await readFile(await insideFolder(dir, RUN_FILES.metrics), {
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    });
    const text = bytes.subarray(0, bytes.lastIndexOf(10) + 1).toString("utf8");
    const classifier = (await readConfigObject(dir)).classifier as { id2label?: unknown } | undefined;
    const id2label = Array.isArray(classifier?.id2label) ? classifier.id2label.map(String) : null;
    return classificationEvaluations(text, id2label);
  }

  /**
   * Reads every run's curves and figures into the caches, one run after another, as TensorBoard loads
   * its runs when it starts: a page opened then finds them ready (twenty runs of 10,000 steps take
   * half a second of parsing). Requests are served in between; a run that cannot be read is skipped
   * (its requests say why). `stopped()` ends it early (the server closing).
   */
  async warm(stopped: () => boolean): Promise<void> {
    for (const id of await this.ids()) {
      if (stopped()) return;
      await this.curves(id).catch(() => undefined);
    }
    if (!stopped()) await this.list().catch(() => undefined);
  }

  /** The ids of the runs directly under the folder, without reading their metrics (a page's first request). */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for (const id of (await readdir(this.root).catch(() => [])).sort())
      if ((await this.dir(id).catch(() => null)) !== null) ids.push(id); // not a run, or its files lead outside
    return ids;
  }

  /** Every run directly under the folder, with its figures; an unreadable run shows its error as status. */
  async list(): Promise<RunListing[]> {
    const out: RunListing[] = [];
    for (const id of await this.ids()) {
      // A run renamed or deleted since `ids()` read the folder is left out, not a failed listing.
      const dir = await this.dir(id).catch(() => null);
      if (dir === null) continue;
      const stats = await Promise.all(
        [RUN_FILES.metrics, RUN_FILES.status, RUN_FILES.config].map((f) => stat(join(dir, f)).catch(() => null)),
      );
      const key = stats.map((s) => (s === null ? "-" : `${s.size}:${s.mtimeMs}`)).join("|");
      let cached = this.cache.get(id);
      if (cached?.key !== key) {
        cached = { key, listing: await this.read(id, dir) };
        this.cache.set(id, cached);
      }
      // status.json says "running" until the trainer writes its end; a killed trainer never does.
      const gone = cached.listing.status === "running" && (await trainerGone(dir));
      out.push(gone ? { ...cached.listing, status: "stopped", message: STOPPED } : cached.listing);
    }
    return out;
  }

  /** Run `id`'s listing now (as in `list`: a dead trainer's run shows as stopped). */
  async listing(id: string): Promise<RunListing> {
    const dir = await this.dir(id);
    const listing = await this.read(id, dir);
    return listing.status === "running" && (await trainerGone(dir))
      ? { ...listing, status: "stopped", message: STOPPED }
      : listing;
  }

  /** 409 unless run `id` is idle: no job of the studio (`jobRunning`) nor any trainer holds it. */
  async checkIdle(id: string, jobRunning: boolean): Promise<void> {
    const dir = await this.dir(id);
    if (jobRunning || !(await trainerGone(dir))) throw new HttpError(409, `${id} is being trained: stop it first`);
  }

  /** Renames run `id` to `name` (one safe folder name, not taken). */
  async rename(id: string, name: string): Promise<void> {
    const dir = await this.dir(id);
    if (!RUN_NAME.test(name))
      throw new HttpError(
        400,
        "a run name is letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
        "name",
      );
    const to = join(this.root, name);
    if ((await lstat(to).catch(() => null)) !== null)
      throw new HttpError(409, `a run named ${name} already exists`, "name");
    await rename(dir, to);
    this.forget(id);
  }

  /** Deletes run `id`'s folder and everything in it. */
  async remove(id: string): Promise<void> {
    const dir = await this.dir(id);
    await rm(dir, { recursive: true });
    this.forget(id);
  }

  private forget(id: string): void {
    this.cache.delete(id);
    this.curvesCache.delete(id);
  }

  private async read(id: string, dir: string): Promise<RunListing> {
    let r: RunSummary;
    try {
      r = await summarizeRun(dir);
    } catch (err) {
      const figures = { steps: 0, bestValidLoss: null, bestStep: null, lastTrainLoss: null, seconds: 0 };
      const unreadable = { status: "unreadable", message: (err as Error).message, corpus: null, settings: {} };
      return { id, task: "fill-mask", recipe: null, ...unreadable, ...figures };
    }
    const config = await readConfigObject(dir);
    const settings = Object.fromEntries(KEY_SETTINGS.map((k) => [k, config[k] ?? null]));
    return {
      id,
      task: typeof config.task === "string" ? config.task : "fill-mask",
      recipe: typeof config.recipe === "string" ? config.recipe : null,
      status: r.status?.state ?? "unknown",
      ...(r.status?.message === undefined ? {} : { message: r.status.message }),
      corpus: r.data,
      settings,
      steps: r.lastStep,
      bestValidLoss: r.bestValidLoss,
      bestStep: r.bestStep,
      lastTrainLoss: r.lastTrainLoss,
      seconds: r.seconds,
    };
  }

  /** The real path of run `id`; 404 for anything that is not a run directory directly inside the folder. */
  async dir(id: string): Promise<string> {
    if (id.includes("/") || id.includes("\\") || id === "." || id === "..")
      throw new HttpError(404, `no such run: ${id}`);
    const dir = await insideFolder(this.root, id, "run");
    if (basename(dir) !== id || !(await isRunDirectory(dir))) throw new HttpError(404, `no such run: ${id}`);
    await checkConfined(dir, RUN_LEVEL_FILES, "run");
    return dir;
  }

  /** One run: its full configuration, status and checkpoint names (best first, then last-* oldest first). */
  async detail(id: string): Promise<Record<string, unknown>> {
    const dir = await this.dir(id);
    const checkpoints = (await listLastCheckpoints(dir)).map((p) => basename(p));
    const best = (await this.exists(dir, RUN_FILES.best)) ? [RUN_FILES.best] : [];
    return {
      id,
      config: await readConfigObject(dir),
      status: await readRunStatus(dir).catch(() => null),
      checkpoints: [...best, ...checkpoints],
    };
  }

  private async exists(dir: string, name: string): Promise<boolean> {
    return insideFolder(dir, name).then(
      () => true,
      () => false,
    );
  }

  /** The checkpoint folder `name` (best or last-<step>) of run `id`: its real path, inside the run. */
  async checkpoint(id: string, name: string): Promise<string> {
    if (name !== RUN_FILES.best && !isLastCheckpointName(name)) throw new HttpError(404, `no such checkpoint: ${name}`);
    const runDir = await this.dir(id);
    // While a trainer swaps the checkpoint in, its path is missing for a moment: wait for the new one.
    for (let attempt = 1; ; attempt++) {
      try {
        const dir = await insideFolder(runDir, name, "checkpoint");
        await checkConfined(dir, CHECKPOINT_LEVEL_FILES, "checkpoint");
        return dir;
      } catch (err) {
        const swapping = (await readdir(runDir)).some(
          (n) => n.startsWith(`${name}.old-`) || n.startsWith(`${name}.tmp-`),
        );
        if (!swapping || attempt >= 50) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /**
   * The real path of a file of run `id`'s layout: `config.json`, `tokenizer.json`, `metrics.jsonl`,
   * `status.json`, `curves.svg`, or `<best|last-N>/<checkpoint file>`; 404 for any other name.
   */
  async file(id: string, name: string): Promise<string> {
    const parts = name.split("/");
    if (parts.length === 1 && RUN_LEVEL_FILES.has(name)) return insideFolder(await this.dir(id), name);
    if (parts.length === 2 && CHECKPOINT_LEVEL_FILES.has(parts[1]))
      return insideFolder(await this.checkpoint(id, parts[0]), parts[1]);
    throw new HttpError(404, `no such file in a run: ${name}`);
  }
}
