/**
 * The training worker of the page: a dedicated Worker, because the engine's dispatcher waits with
 * Atomics.wait, which a page's main thread may not. It installs the browser platform (kernel threads
 * as nested Workers, runs in the origin-private file system), trains with the library's `train` or
 * fine-tunes with its `finetune` (the same loop and task as `mlm train` and `mlm finetune`), and
 * forwards every record the run module appends to metrics.jsonl, so that the page's curves are the
 * run's own log.
 */
import { resolveConfig, type TrainConfig } from "../../src/config/index.js";
import { textCorpus } from "../../src/data/index.js";
import { browserPlatform, threadSupport } from "../../src/platform/browser.js";
import { opfsStorage } from "../../src/platform/opfs-storage.js";
import { setPlatform, type AppendFile, type Storage } from "../../src/platform/index.js";
import { WebGpuUnavailableError } from "../../src/engine/webgpu/device.js";
import { createWebGpuBackend, type WebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { classify, fillMasks, loadModel } from "../../src/pipelines/index.js";
import { RunDirectory, readJsonObject, splitTaskRecord } from "../../src/run/index.js";
import { finetune, FINETUNE_DEFAULTS, resumeFinetune } from "../../src/train/finetune.js";
import type { EvalMetrics } from "../../src/model/index.js";
import type { ClassMetrics } from "../../src/train/classify-task.js";
import { train, type TaskSummary, type TrainOptions } from "../../src/train/trainer.js";
import { usedCheckpoint } from "./checkpoints.js";
import {
  runLockName,
  type BackendChoice,
  type FinetuneTabSettings,
  type FromWorker,
  type LabelledFiles,
  type RunEnd,
  type TabCorpus,
  type TabSettings,
  type ToWorker,
} from "./protocol.js";

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: { data: ToWorker }) => void) | null;
}
interface LockManager {
  request<T>(name: string, options: { ifAvailable: boolean }, run: (lock: object | null) => Promise<T>): Promise<T>;
}
const scope = globalThis as unknown as WorkerScope;
const locks = (globalThis as unknown as { navigator: { locks: LockManager } }).navigator.locks;
const post = (message: FromWorker): void => scope.postMessage(message);

/** The OPFS storage, with every line appended to a metrics.jsonl also sent to the page. */
const storage: Storage = {
  ...opfsStorage,
  async openAppend(path, options) {
    const file = await opfsStorage.openAppend(path, options);
    if (!path.endsWith("metrics.jsonl")) return file;
    const tee: AppendFile = {
      append(data) {
        file.append(data);
        const text = typeof data === "string" ? data : new TextDecoder().decode(data);
        for (const line of text.split("\n")) if (line !== "") post({ type: "metrics", record: JSON.parse(line) });
      },
      close: () => file.close(),
    };
    return tee;
  },
};
setPlatform({ ...browserPlatform(), storage });

let stopper: AbortController | null = null;

/** The WebGPU backend when it was asked for and opens; otherwise null (WebAssembly) and why. */
async function openBackend(choice: BackendChoice): Promise<{ gpu: WebGpuBackend | null; reason: string | null }> {
  if (choice === "wasm") return { gpu: null, reason: "WebAssembly was chosen in the page" };
  try {
    return { gpu: await createWebGpuBackend(), reason: null };
  } catch (err) {
    if (err instanceof WebGpuUnavailableError) return { gpu: null, reason: err.message };
    throw err;
  }
}

/** A new run's configuration: the address's keys, then the page's settings (which win), checked. */
function newRunConfig(settings: TabSettings, runDir: string, corpus: TabCorpus): TrainConfig {
  const { overrides, ...fields } = settings;
  return resolveConfig({ ...overrides, ...fields, outDir: runDir, data: corpus.bundled ? null : corpus.name });
}

/**
 * A new fine-tuning run's configuration as `mlm finetune` makes it: the tutorial's fine-tuning
 * defaults, the address's keys, the page's fields, the data file's name.
 */
function finetuneConfig(settings: FinetuneTabSettings, runDir: string, data: string): TrainConfig {
  return resolveConfig(
    { ...FINETUNE_DEFAULTS, ...settings.overrides, ...settings.config, outDir: runDir, data },
    "the page's fine-tuning settings",
  );
}

/** How the run is trained, once the worker holds its lock: with these threads and no progress bar. */
type Trainer = (
  engine: { threads: number; progress: false },
  options: TrainOptions,
) => Promise<TaskSummary<EvalMetrics | ClassMetrics>>;

/**
 * Trains a run (new or resumed, either task; `config` its settings) with `trainer`, holding the run's
 * Web Lock meanwhile, on as many threads as config.threads asks (0: all) and the page may use (one
 * without isolation).
 */
async function trainRun(runDir: string, config: TrainConfig, choice: BackendChoice, trainer: Trainer): Promise<void> {
  const support = threadSupport();
  // "done" is posted once the lock is released, so that the page lists the run as no one's.
  const summary = await locks.request(runLockName(runDir), { ifAvailable: true }, async (lock) => {
    if (lock === null) throw new Error(`${runDir} is being trained in another tab`);
    const threads = Math.min(config.threads > 0 ? config.threads : support.threads, support.threads);
    const engine = { threads, progress: false } as const;
    // WebGPU trains; config.backend (WebAssembly) evaluates, on a copy of the weights.
    const { gpu, reason } = await openBackend(choice);
    const backend = gpu?.name ?? `${config.backend} (${threads} thread${threads === 1 ? "" : "s"})`;
    post({ type: "engine", threads, reason: support.reason, backend, backendReason: reason });
    stopper = new AbortController();
    const log = (line: string): void => post({ type: "log", line });
    try {
      return await trainer(engine, { signal: stopper.signal, log, warn: log, backend: gpu ?? undefined });
    } finally {
      gpu?.dispose();
    }
  });
  const best = summary.evaluations.find((e) => e.step === summary.bestStep)?.metrics;
  const classifier = best !== undefined && "macroF1" in best;
  const end: RunEnd = {
    type: "done",
    runDir,
    task: classifier ? "text-classification" : "fill-mask",
    steps: summary.steps,
    stoppedBy: summary.stoppedBy,
    msPerStep: summary.msPerStep,
    bestValidLoss: summary.bestValidLoss,
    bestStep: summary.bestStep,
    best: classifier ? { accuracy: best.accuracy, macroF1: best.macroF1 } : null,
  };
  post(end);
}

/** A new masked-LM run on `corpus`. */
function trainNew(runDir: string, corpus: TabCorpus, settings: TabSettings, choice: BackendChoice): Promise<void> {
  const config = newRunConfig(settings, runDir, corpus);
  return trainRun(runDir, config, choice, (engine, options) =>
    train({ ...config, ...engine }, { ...options, corpus: textCorpus(corpus.name, corpus.text) }),
  );
}

/** A new fine-tuning run: `mlm finetune DATA --from FROM` with the page's settings, on the files given. */
function finetuneNew(message: Extract<ToWorker, { type: "finetune" }>): Promise<void> {
  const { runDir, from, data, files, settings } = message;
  const config = finetuneConfig(settings, runDir, data);
  const { pooling, head, bestMetric, valid, validFraction, textColumn, textPairColumn, labelColumn } = settings;
  const request = {
    from,
    pooling,
    head: head ?? undefined,
    bestMetric,
    valid,
    validFraction,
    textColumn,
    textPairColumn,
    labelColumn,
  };
  return trainRun(runDir, config, message.backend, (engine, options) =>
    finetune({ ...request, config: { ...config, ...engine } }, { ...options, labelled: files }),
  );
}

/** Continues a run of either task from its latest checkpoint (its config.json says which). */
async function resume(
  runDir: string,
  data: { corpus: TabCorpus } | { files: LabelledFiles },
  choice: BackendChoice,
): Promise<void> {
  const path = storage.path.join(runDir, "config.json");
  const { task } = splitTaskRecord(await readJsonObject(storage, path), path);
  const config = await new RunDirectory(runDir).readConfig();
  if (task === "text-classification") {
    if (!("files" in data)) throw new Error(`${runDir} is a fine-tuning run: its labelled files are needed`);
    return trainRun(runDir, config, choice, (engine, options) =>
      resumeFinetune(runDir, engine, { ...options, labelled: data.files }),
    );
  }
  if (!("corpus" in data)) throw new Error(`${runDir} is a masked language model's run: its corpus is needed`);
  return trainRun(runDir, config, choice, (engine, options) =>
    train(
      { ...config, ...engine },
      { ...options, resume: runDir, corpus: textCorpus(data.corpus.name, data.corpus.text) },
    ),
  );
}

/** The top-k tokens behind each [MASK] of `text`, with the run's best checkpoint. */
async function fill(runDir: string, text: string, topK: number): Promise<void> {
  const loaded = await loadModel(runDir);
  try {
    const predictions = fillMasks(loaded, text, { topK });
    post({ type: "filled", predictions, checkpoint: await usedCheckpoint(loaded.checkpointDir) });
  } finally {
    loaded.dispose();
  }
}

/** Every label's score for `text`, best first, with the classifier's best checkpoint. */
async function classifyText(runDir: string, text: string): Promise<void> {
  const loaded = await loadModel(runDir, { task: "text-classification" });
  try {
    const labels = classify(loaded, text, { topK: loaded.classifier.id2label.length });
    post({ type: "classified", labels, checkpoint: await usedCheckpoint(loaded.checkpointDir) });
  } finally {
    loaded.dispose();
  }
}

scope.onmessage = ({ data }) => {
  const fail = (err: unknown): void =>
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  if (data.type === "stop") stopper?.abort(new Error("stopped in the page"));
  else if (data.type === "train") trainNew(data.runDir, data.corpus, data.settings, data.backend).catch(fail);
  else if (data.type === "finetune") finetuneNew(data).catch(fail);
  else if (data.type === "resume") resume(data.runDir, data.data, data.backend).catch(fail);
  else if (data.type === "fill") fill(data.runDir, data.text, data.topK).catch(fail);
  else classifyText(data.runDir, data.text).catch(fail);
};
