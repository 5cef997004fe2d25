/**
 * The training worker of the page: a dedicated Worker, because the engine's dispatcher waits with
 * Atomics.wait, which a page's main thread may not. It installs the browser platform (kernel threads
 * as nested Workers, runs in the origin-private file system), trains with the library's `train`, and
 * forwards every record the run module appends to metrics.jsonl, so that the page's curve is the
 * run's own log.
 */
import { resolveConfig, type TrainConfig } from "../../src/config/index.js";
import { textCorpus } from "../../src/data/index.js";
import { browserPlatform, threadSupport } from "../../src/platform/browser.js";
import { opfsStorage } from "../../src/platform/opfs-storage.js";
import { setPlatform, type AppendFile, type Storage } from "../../src/platform/index.js";
import { WebGpuUnavailableError } from "../../src/engine/webgpu/device.js";
import { createWebGpuBackend, type WebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { fillMasks, loadModel } from "../../src/pipelines/index.js";
import { RunDirectory } from "../../src/run/index.js";
import { train } from "../../src/train/trainer.js";
import {
  runLockName,
  type BackendChoice,
  type FromWorker,
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

/** Trains a new run (`settings`) or resumes one, holding the run's Web Lock meanwhile. */
async function trainRun(
  runDir: string,
  corpus: TabCorpus,
  settings: TabSettings | null,
  choice: BackendChoice,
): Promise<void> {
  const support = threadSupport();
  // "done" is posted once the lock is released, so that the page lists the run as no one's.
  const summary = await locks.request(runLockName(runDir), { ifAvailable: true }, async (lock) => {
    if (lock === null) throw new Error(`${runDir} is being trained in another tab`);
    const config: TrainConfig =
      settings === null ? await new RunDirectory(runDir).readConfig() : newRunConfig(settings, runDir, corpus);
    // As many threads as asked (0: all), and never more than the page may use: one without isolation.
    config.threads = Math.min(config.threads > 0 ? config.threads : support.threads, support.threads);
    config.progress = false;
    // WebGPU trains; config.backend (WebAssembly) evaluates, on a copy of the weights.
    const { gpu, reason } = await openBackend(choice);
    const backend = gpu?.name ?? `${config.backend} (${config.threads} thread${config.threads === 1 ? "" : "s"})`;
    post({ type: "engine", threads: config.threads, reason: support.reason, backend, backendReason: reason });
    stopper = new AbortController();
    const log = (line: string): void => post({ type: "log", line });
    try {
      return await train(config, {
        resume: settings === null ? runDir : undefined,
        corpus: textCorpus(corpus.name, corpus.text),
        signal: stopper.signal,
        log,
        warn: log,
        backend: gpu ?? undefined,
      });
    } finally {
      gpu?.dispose();
    }
  });
  post({
    type: "done",
    runDir,
    steps: summary.steps,
    stoppedBy: summary.stoppedBy,
    msPerStep: summary.msPerStep,
    bestValidLoss: summary.bestValidLoss,
  });
}

/** The top-k tokens behind each [MASK] of `text`, with the run's best checkpoint. */
async function fill(runDir: string, text: string, topK: number): Promise<void> {
  const loaded = await loadModel(runDir);
  try {
    post({ type: "filled", predictions: fillMasks(loaded, text, { topK }) });
  } finally {
    loaded.dispose();
  }
}

scope.onmessage = ({ data }) => {
  const fail = (err: unknown): void =>
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  if (data.type === "stop") stopper?.abort(new Error("stopped in the page"));
  else if (data.type === "train") trainRun(data.runDir, data.corpus, data.settings, data.backend).catch(fail);
  else if (data.type === "resume") trainRun(data.runDir, data.corpus, null, data.backend).catch(fail);
  else fill(data.runDir, data.text, data.topK).catch(fail);
};
