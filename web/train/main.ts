/**
 * The "train in this tab" page: picks a corpus, trains in a dedicated Worker (worker.ts) with the
 * library's engine, draws the run's metrics.jsonl as it grows, stops and resumes, fills in masks,
 * lists the runs kept in this browser (OPFS) and downloads one as a .zip in the CLI's layout.
 *
 * Runs live in the origin-private file system under runs/<date-time>; a user's corpus is kept beside
 * them under corpora/<run>.txt so that a resumed run reads the same text. One tab owns a run at a
 * time (a Web Lock its worker holds while training); a run whose status says "running" while nobody
 * holds its lock was cut short by a closed or reloaded tab, and is shown as interrupted.
 */
import { unzipSync, zipSync } from "fflate";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { corpusText } from "../../src/data/blob-text.js";
import { probeWebGpu } from "../../src/engine/webgpu/device.js";
import { browserPlatform, threadSupport } from "../../src/platform/browser.js";
import { setPlatform } from "../../src/platform/index.js";
import { opfsStorage as storage } from "../../src/platform/opfs-storage.js";
import type { FillMaskPrediction } from "../../src/pipelines/index.js";
import {
  defaultRunDir,
  parseMetrics,
  readRunFiles,
  readRunStatus,
  resolveCheckpointDir,
  writeRunFiles,
} from "../../src/run/index.js";
import { runLockName, type BackendChoice, type FromWorker, type TabCorpus, type ToWorker } from "./protocol.js";

/** What the page has seen, for people reading the console and for the browser tests. */
interface TabState {
  engine: { threads: number; reason: string | null; backend: string; backendReason: string | null } | null;
  /** What the page found of WebGPU before anything runs: an adapter, or why there is none. */
  webgpu: { adapter: string; software: boolean } | { reason: string } | null;
  /** The metrics.jsonl records of the run being trained, as its worker wrote them. */
  records: Record<string, unknown>[];
  done: Extract<FromWorker, { type: "done" }> | null;
  predictions: FillMaskPrediction[][] | null;
  errors: string[];
  runDir: string | null;
}
setPlatform(browserPlatform()); // run paths and storage: the origin-private file system

const state: TabState = {
  engine: null,
  webgpu: null,
  records: [],
  done: null,
  predictions: null,
  errors: [],
  runDir: null,
};
(globalThis as unknown as { mlmTab: TabState }).mlmTab = state;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const BUNDLED = { name: "tatoeba-en.txt", url: new URL("tatoeba-en.txt", import.meta.url) };

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "mlm-ts training" });
const send = (message: ToWorker): void => worker.postMessage(message);

// ---- engine line: what this browser gives, before anything runs
{
  const { threads, reason } = threadSupport();
  const engine = $("engine");
  engine.textContent =
    reason === null
      ? `The engine runs on ${threads} threads (cross-origin isolated page, WebAssembly SIMD over shared memory).`
      : `One thread only: ${reason}.`;
  engine.classList.toggle("single", reason !== null);
}

// ---- backend: WebGPU offered when navigator.gpu gives an adapter (chosen by default on a hardware
// one: a software adapter such as SwiftShader is correct and far slower than WebAssembly)
void probeWebGpu().then(
  (found) => offerBackends(found),
  (err: unknown) => offerBackends({ reason: `looking for an adapter failed: ${(err as Error).message}` }),
);

function offerBackends(found: NonNullable<TabState["webgpu"]>): void {
  state.webgpu = found;
  const select = $<HTMLSelectElement>("backend");
  const webgpu = select.querySelector<HTMLOptionElement>('option[value="webgpu"]')!;
  const line = $("backend-line");
  if ("reason" in found) {
    line.textContent = `WebAssembly: WebGPU is not available here (${found.reason}).`;
    return;
  }
  webgpu.disabled = false;
  webgpu.textContent = `WebGPU (${found.adapter})`;
  if (found.software) {
    line.textContent = `WebAssembly by default: WebGPU offers only a software adapter (${found.adapter}), correct and far slower.`;
  } else {
    select.value = "webgpu";
    line.textContent = `WebGPU on ${found.adapter}.`;
  }
}

const chosenBackend = (): BackendChoice => $<HTMLSelectElement>("backend").value as BackendChoice;

// ---- the loss curve
const curve = {
  steps: [] as number[],
  train: [] as (number | null)[],
  valid: [] as (number | null)[],
  plot: new uPlot(
    {
      width: Math.min(940, document.body.clientWidth - 20),
      height: 280,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: "loss", size: 56 }],
      series: [
        { label: "step" },
        { label: "training loss", stroke: "#1f77b4", spanGaps: true },
        { label: "validation loss", stroke: "#d62728", spanGaps: true, points: { show: true, size: 7 } },
      ],
    },
    [[], [], []],
    $("curve"),
  ),
  reset(): void {
    this.steps.length = this.train.length = this.valid.length = 0;
    this.plot.setData([[], [], []]);
  },
  add(record: Record<string, unknown>): void {
    if (typeof record.step !== "number" || typeof record.loss !== "number") return;
    const at = this.steps.indexOf(record.step);
    const i = at >= 0 ? at : this.steps.push(record.step) - 1;
    if (at < 0) {
      this.train.push(null);
      this.valid.push(null);
    }
    (record.split === "valid" ? this.valid : this.train)[i] = record.loss;
    this.plot.setData([this.steps, this.train, this.valid]);
  },
};

// The chart follows the page's width (a phone's 375 px included).
addEventListener("resize", () =>
  curve.plot.setSize({ width: Math.max(200, Math.min(940, document.body.clientWidth - 20)), height: 280 }),
);

function log(line: string): void {
  const pre = $("log");
  pre.textContent += line + "\n";
  pre.scrollTop = pre.scrollHeight;
}

function setTraining(on: boolean): void {
  $<HTMLButtonElement>("train").disabled = on;
  $<HTMLButtonElement>("stop").disabled = !on;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#runs button.resume")) b.disabled = on;
}

worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
  if (data.type === "engine") {
    const { threads, reason, backend, backendReason } = data;
    state.engine = { threads, reason, backend, backendReason };
    $("status").textContent = `Training on ${backend}...`;
    $("backend-line").textContent =
      backendReason === null ? `Training on ${backend}.` : `Training on ${backend}: ${backendReason}.`;
  } else if (data.type === "log") log(data.line);
  else if (data.type === "metrics") {
    // A resumed run holds its lock from its first record on: the list shows it running again.
    if (relistOnRecord) {
      relistOnRecord = false;
      void listRuns();
    }
    state.records.push(data.record);
    curve.add(data.record);
    const r = data.record;
    if (typeof r.loss === "number")
      $("status").textContent =
        `step ${String(r.step)}: ${r.split === "valid" ? "validation" : "training"} loss ${r.loss.toFixed(4)}`;
  } else if (data.type === "done") {
    state.done = data;
    const best = data.bestValidLoss === null ? "none" : data.bestValidLoss.toFixed(4);
    $("status").textContent =
      `${data.stoppedBy === "signal" ? "Stopped" : "Done"} at step ${data.steps}: best validation loss ${best}, ` +
      `${Number.isFinite(data.msPerStep) ? data.msPerStep.toFixed(0) : "-"} ms per step.`;
    setTraining(false);
    $<HTMLButtonElement>("fill").disabled = false;
    void listRuns();
    // A run another tab trains shows as running; once that tab is closed or reloaded its lock goes and the
    // run shows as interrupted (the list is read again while one shows as running and this tab is idle).
    setInterval(() => {
      const running = [...document.querySelectorAll("#runs td")].some((td) => td.textContent === "running");
      if (running && !$<HTMLButtonElement>("train").disabled) void listRuns();
    }, 1000);
  } else if (data.type === "filled") {
    state.predictions = data.predictions;
    showPredictions(data.predictions);
  } else {
    state.errors.push(data.message);
    log(`error: ${data.message}`);
    $("status").textContent = `Error: ${data.message}`;
    setTraining(false);
    void listRuns();
    // A run another tab trains shows as running; once that tab is closed or reloaded its lock goes and the
    // run shows as interrupted (the list is read again while one shows as running and this tab is idle).
    setInterval(() => {
      const running = [...document.querySelectorAll("#runs td")].some((td) => td.textContent === "running");
      if (running && !$<HTMLButtonElement>("train").disabled) void listRuns();
    }, 1000);
  }
};

/** The corpus chosen on the page (a user's file is kept in OPFS for the run's resumes). */
async function chosenCorpus(runDir: string): Promise<TabCorpus> {
  const choice = document.querySelector<HTMLInputElement>('input[name="corpus"]:checked')!.value;
  if (choice === "bundled") return fetchBundled();
  const file = $<HTMLInputElement>("file").files?.[0];
  if (file === undefined) throw new Error("choose a text file first");
  const text = await corpusText(file, file.name); // a .gz file is decompressed in the tab
  await storage.writeAtomic(corpusCopy(runDir), text);
  return { name: file.name, text, bundled: false };
}

async function fetchBundled(): Promise<TabCorpus> {
  const response = await fetch(BUNDLED.url);
  if (!response.ok) throw new Error(`${BUNDLED.url.href}: HTTP ${response.status}`);
  return { name: BUNDLED.name, text: await response.text(), bundled: true };
}

const corpusCopy = (runDir: string): string => storage.path.join("corpora", `${storage.path.basename(runDir)}.txt`);

/** The corpus a run was started on: the bundled one, or the copy kept when it started. */
async function runCorpus(runDir: string): Promise<TabCorpus> {
  const config = JSON.parse(await storage.readText(storage.path.join(runDir, "config.json"))) as {
    data: string | null;
  };
  if (config.data === null) return fetchBundled();
  return { name: config.data, text: await storage.readText(corpusCopy(runDir)), bundled: false };
}

function startWatching(runDir: string): void {
  state.records = [];
  state.done = null;
  state.runDir = runDir;
  curve.reset();
  $("log").textContent = "";
  setTraining(true);
}

$("train").onclick = async () => {
  const runDir = defaultRunDir();
  try {
    const corpus = await chosenCorpus(runDir);
    startWatching(runDir);
    const number = (id: string): number => Number($<HTMLInputElement>(id).value);
    send({
      type: "train",
      runDir,
      corpus,
      settings: {
        maxSteps: number("max-steps"),
        threads: number("threads"),
        logSteps: number("log-steps"),
        evalSteps: number("eval-steps"),
        saveSteps: number("save-steps"),
        overrides: addressConfig(),
      },
      backend: chosenBackend(),
    });
    $("status").textContent = "Reading the corpus and training the tokenizer...";
  } catch (err) {
    $("status").textContent = `Error: ${(err as Error).message}`;
  }
};

/** Configuration keys given in the page's address, `?config={"dModel":32,"numLayers":2}` (checked by the worker). */
function addressConfig(): Record<string, unknown> {
  const given = new URLSearchParams(location.search).get("config");
  if (given === null) return {};
  const parsed: unknown = JSON.parse(given);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error(`the address's config must be a JSON object of configuration keys, got ${given}`);
  return parsed as Record<string, unknown>;
}

$("stop").onclick = () => {
  send({ type: "stop" });
  $("status").textContent = "Stopping after this step (a checkpoint is saved)...";
};

/** Whether the list is read again at the next record (a resume just started). */
let relistOnRecord = false;

async function resume(runDir: string): Promise<void> {
  try {
    const corpus = await runCorpus(runDir);
    startWatching(runDir);
    // The curve so far; the steps after the checkpoint are redone, to the same values.
    const metrics = storage.path.join(runDir, "metrics.jsonl");
    if ((await storage.stat(metrics)) !== null)
      for (const record of parseMetrics(await storage.readText(metrics), metrics)) curve.add(record);
    relistOnRecord = true;
    send({ type: "resume", runDir, corpus, backend: chosenBackend() });
    $("status").textContent = `Resuming ${runDir}...`;
  } catch (err) {
    $("status").textContent = `Error: ${(err as Error).message}`;
  }
}

async function download(runDir: string): Promise<void> {
  const name = storage.path.basename(runDir);
  const files = await readRunFiles(runDir, storage);
  // Stored, not deflated: float32 weights barely compress, and deflating tens of MB would take seconds.
  const zip = zipSync(Object.fromEntries(files.map((f) => [`${name}/${f.path}`, f.bytes])), { level: 0 });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
  link.download = `${name}.zip`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Every run in this browser with its state; "running" without an owner is shown as interrupted. */
async function listRuns(): Promise<void> {
  const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
  const body = $("runs").querySelector("tbody")!;
  body.textContent = "";
  for (const id of (await storage.list("runs")).sort().reverse()) {
    const runDir = storage.path.join("runs", id);
    const status = await readRunStatus(runDir, storage).catch(() => null);
    const owned = held.has(runLockName(runDir));
    const shown =
      status?.state === "running" && !owned ? "interrupted (the tab training it closed)" : (status?.state ?? "?");
    const row = body.insertRow();
    row.dataset.run = runDir;
    row.insertCell().textContent = id;
    row.insertCell().textContent = shown;
    row.insertCell().textContent = String(status?.step ?? "");
    const actions = row.insertCell();
    const button = (label: string, cls: string, action: () => void): HTMLButtonElement => {
      const b = document.createElement("button");
      b.textContent = label;
      b.className = cls;
      b.onclick = action;
      actions.append(b);
      return b;
    };
    if (!owned && status?.state !== "finished") button("Resume", "resume", () => void resume(runDir));
    // A run in training is mid-write (a checkpoint being swapped in): its zip waits until it stops or finishes.
    const zip = button("Download .zip", "download", () => void download(runDir));
    zip.disabled = owned;
    if (owned) zip.title = "available once the run is stopped or finished";
    button("Use for fill-mask", "select", () => selectRun(runDir));
  }
}

function selectRun(runDir: string): void {
  state.runDir = runDir;
  $<HTMLButtonElement>("fill").disabled = false;
  $("status").textContent = `Fill-mask uses ${runDir}.`;
  void checkpointOf(runDir).then((which) => {
    if (state.runDir === runDir) $("status").textContent = `Fill-mask uses ${runDir}: ${which}.`;
  });
}

/** Which checkpoint fill-mask loads from `runDir` (best/, else the newest last-*), with its step. */
async function checkpointOf(runDir: string): Promise<string> {
  try {
    const { checkpointDir } = await resolveCheckpointDir(runDir);
    const trainState = storage.path.join(checkpointDir, "train_state.json");
    const { step } = JSON.parse(await storage.readText(trainState)) as { step?: number };
    return `checkpoint ${storage.path.basename(checkpointDir)}, step ${step ?? "?"}`;
  } catch (err) {
    return `no checkpoint yet (${(err as Error).message})`;
  }
}

$("fill").onclick = () => {
  if (state.runDir === null) return;
  state.predictions = null;
  const runDir = state.runDir;
  send({ type: "fill", runDir, text: $<HTMLInputElement>("fill-text").value, topK: 5 });
  void checkpointOf(runDir).then((which) => ($("fill-which").textContent = `Fill-mask uses ${runDir}: ${which}.`));
};

function showPredictions(perMask: FillMaskPrediction[][]): void {
  const table = $<HTMLTableElement>("predictions");
  table.textContent = "";
  perMask.forEach((predictions, mask) => {
    for (const p of predictions) {
      const row = table.insertRow();
      row.insertCell().textContent = perMask.length > 1 ? `mask ${mask + 1}` : "";
      row.insertCell().textContent = p.token_str;
      row.insertCell().textContent = p.score.toFixed(4);
      row.insertCell().textContent = p.sequence;
    }
  });
}

$<HTMLInputElement>("open-zip").onchange = async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  try {
    const entries = Object.entries(unzipSync(new Uint8Array(await file.arrayBuffer()))).filter(
      ([p]) => !p.endsWith("/"),
    );
    // A zip of a run holds one top folder (the run's name), as the page's downloads do.
    const tops = new Set(entries.map(([p]) => p.split("/")[0]));
    const single = tops.size === 1 && entries.every(([p]) => p.includes("/"));
    const name = single ? [...tops][0] : file.name.replace(/\.zip$/, "");
    const files = entries.map(([p, bytes]) => ({ path: single ? p.slice(name.length + 1) : p, bytes }));
    await writeRunFiles(storage.path.join("runs", name), files, storage);
    await listRuns();
    selectRun(storage.path.join("runs", name));
  } catch (err) {
    $("status").textContent = `Error: ${file.name}: ${(err as Error).message}`;
  }
};

void listRuns();
// A run another tab trains shows as running; once that tab is closed or reloaded its lock goes and the
// run shows as interrupted (the list is read again while one shows as running and this tab is idle).
setInterval(() => {
  const running = [...document.querySelectorAll("#runs td")].some((td) => td.textContent === "running");
  if (running && !$<HTMLButtonElement>("train").disabled) void listRuns();
}, 1000);
