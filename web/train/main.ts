/**
 * The "train in this tab" page: pre-trains a masked language model on a corpus, or fine-tunes a
 * classifier from a pre-trained run on a labelled file dropped or chosen, in a dedicated Worker
 * (worker.ts) with the library's engine; draws the run's metrics.jsonl as it grows with the studio's
 * charts, stops and resumes, fills in masks and classifies texts (saying which checkpoint answers),
 * lists the runs kept in this browser (OPFS) and downloads one as a .zip in the CLI's layout.
 *
 * Runs live in the origin-private file system under runs/<date-time>, the data they train on beside
 * them (run-data.ts). One tab owns a run at a time (a Web Lock its worker holds).
 */
import "uplot/dist/uPlot.min.css";
import "../studio/style.css";
import "./tab.css";
import { corpusText } from "../../src/data/blob-text.js";
import { probeWebGpu } from "../../src/engine/webgpu/device.js";
import { browserPlatform, threadSupport } from "../../src/platform/browser.js";
import { setPlatform } from "../../src/platform/index.js";
import { opfsStorage as storage } from "../../src/platform/opfs-storage.js";
import type { ClassificationOutput, FillMaskPrediction } from "../../src/pipelines/index.js";
import { defaultRunDir, parseMetrics, RunDirectory } from "../../src/run/index.js";
import { lastCheckpointStep } from "../../src/run/layout.js";
import { renderLabels, renderPredictions } from "../studio/try-model.js";
import { describeCheckpoint, describeRunCheckpoint } from "./checkpoints.js";
import { TabCurves } from "./curves.js";
import { setUpFinetuneForm } from "./finetune-form.js";
import type {
  BackendChoice,
  FromWorker,
  LabelledFiles,
  RunEnd,
  TabCorpus,
  ToWorker,
  UsedCheckpoint,
} from "./protocol.js";
import { fetchBundled, keepCorpus, keepLabelled, runData, runId } from "./run-data.js";
import { downloadRun, openRunZip, readTabRuns, type TabRun } from "./runs-list.js";

/** What the page has seen, for people reading the console and for the browser tests. */
interface TabState {
  engine: { threads: number; reason: string | null; backend: string; backendReason: string | null } | null;
  /** What the page found of WebGPU before anything runs: an adapter, or why there is none. */
  webgpu: { adapter: string; software: boolean } | { reason: string } | null;
  /** The metrics.jsonl records of the run being trained, as its worker wrote them. */
  records: Record<string, unknown>[];
  done: RunEnd | null;
  predictions: FillMaskPrediction[][] | null;
  labels: ClassificationOutput[] | null;
  /** The checkpoint that gave the last predictions or labels. */
  checkpoint: UsedCheckpoint | null;
  errors: string[];
  /** The run being trained, or the one chosen to try. */
  runDir: string | null;
  /** How many points the charts draw. */
  points: () => number;
}
setPlatform(browserPlatform()); // run paths and storage: the origin-private file system

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const curves = new TabCurves($("charts"));

const state: TabState = {
  engine: null,
  webgpu: null,
  records: [],
  done: null,
  predictions: null,
  labels: null,
  checkpoint: null,
  errors: [],
  runDir: null,
  points: () => curves.points(),
};
(globalThis as unknown as { mlmTab: TabState }).mlmTab = state;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "mlm-ts training" });
const send = (message: ToWorker): void => worker.postMessage(message);
const status = (text: string): void => void ($("status").textContent = text);

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

function log(line: string): void {
  const pre = $("log");
  pre.textContent += line + "\n";
  pre.scrollTop = pre.scrollHeight;
}

let training = false;
function setTraining(on: boolean): void {
  training = on;
  for (const id of ["train", "finetune"]) $<HTMLButtonElement>(id).disabled = on;
  $<HTMLButtonElement>("stop").disabled = !on;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#runs button.resume")) b.disabled = on;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The status line of a run's end. */
function describeEnd(end: RunEnd): string {
  const how = end.stoppedBy === "signal" ? "Stopped" : end.stoppedBy === "complete" ? "Already complete" : "Done";
  const ms = Number.isFinite(end.msPerStep) ? end.msPerStep.toFixed(0) : "-";
  const best =
    end.best !== null
      ? `best accuracy ${pct(end.best.accuracy)}, macro-F1 ${end.best.macroF1.toFixed(4)} at step ${end.bestStep}`
      : `best validation loss ${end.bestValidLoss === null ? "none" : end.bestValidLoss.toFixed(4)}`;
  return `${how} at step ${end.steps}: ${best}, ${ms} ms per step.`;
}

worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
  if (data.type === "engine") {
    const { threads, reason, backend, backendReason } = data;
    state.engine = { threads, reason, backend, backendReason };
    status(`Training on ${backend}...`);
    $("backend-line").textContent =
      backendReason === null ? `Training on ${backend}.` : `Training on ${backend}: ${backendReason}.`;
  } else if (data.type === "log") log(data.line);
  else if (data.type === "metrics") {
    // A resumed run holds its lock from its first record on: the list shows it running again.
    if (relistOnRecord) {
      relistOnRecord = false;
      void listRuns();
    }
    const r = data.record;
    state.records.push(r);
    curves.addText(JSON.stringify(r));
    if (typeof r.loss === "number") {
      const accuracy = typeof r.accuracy === "number" && r.split === "valid" ? `, accuracy ${pct(r.accuracy)}` : "";
      status(
        `step ${String(r.step)}: ${r.split === "valid" ? "validation" : "training"} loss ${r.loss.toFixed(4)}${accuracy}`,
      );
    }
  } else if (data.type === "done") {
    state.done = data;
    status(describeEnd(data));
    setTraining(false);
    void listRuns().then(() => chooseRun(data.runDir, data.task));
  } else if (data.type === "filled") {
    state.predictions = data.predictions;
    state.checkpoint = data.checkpoint;
    renderPredictions($("predictions"), data.predictions);
    $("fill-which").textContent = `Fill-mask uses ${state.runDir}: ${describeCheckpoint(data.checkpoint)}.`;
  } else if (data.type === "classified") {
    state.labels = data.labels;
    state.checkpoint = data.checkpoint;
    renderLabels($("labels"), data.labels);
    $("classify-which").textContent = `Classified by ${state.runDir}: ${describeCheckpoint(data.checkpoint)}.`;
  } else {
    state.errors.push(data.message);
    log(`error: ${data.message}`);
    status(`Error: ${data.message}`);
    setTraining(false);
    void listRuns();
  }
};

// ---- pre-training a masked language model

/** The corpus chosen on the page (a user's file is kept in OPFS for the run's resumes). */
async function chosenCorpus(runDir: string): Promise<TabCorpus> {
  const choice = document.querySelector<HTMLInputElement>('input[name="corpus"]:checked')!.value;
  if (choice === "bundled") return fetchBundled();
  const file = $<HTMLInputElement>("file").files?.[0];
  if (file === undefined) throw new Error("choose a text file first");
  const text = await corpusText(file, file.name); // a .gz file is decompressed in the tab
  await keepCorpus(runDir, text);
  return { name: file.name, text, bundled: false };
}

function startWatching(runDir: string): void {
  state.records = [];
  state.done = null;
  state.runDir = runDir;
  curves.reset(runId(runDir));
  $("log").textContent = "";
  setTraining(true);
}

const number = (id: string): number => Number($<HTMLInputElement>(id).value);

$("train").onclick = async () => {
  const runDir = defaultRunDir();
  try {
    const overrides = addressConfig();
    const corpus = await chosenCorpus(runDir);
    startWatching(runDir);
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
        overrides,
      },
      backend: chosenBackend(),
    });
    status("Reading the corpus and training the tokenizer...");
  } catch (err) {
    status(`Error: ${(err as Error).message}`);
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

// ---- fine-tuning a classifier

const finetuneForm = setUpFinetuneForm($("ft-fields"), $("ft-drop"), $<HTMLInputElement>("ft-file"));
$<HTMLInputElement>("ft-valid").onchange = (e) =>
  (finetuneForm.files.valid = (e.target as HTMLInputElement).files?.[0] ?? null);

$("finetune").onclick = async () => {
  const runDir = defaultRunDir();
  const { data, valid } = finetuneForm.files;
  const from = $<HTMLSelectElement>("ft-from").value;
  try {
    const settings = finetuneForm.settings(addressConfig());
    if (settings === null) return status("Fine-tuning not started: see the settings marked.");
    if (data === null) throw new Error("drop or choose a labelled .csv, .tsv or .jsonl file first");
    if (from === "") throw new Error("choose the pre-trained run to start from (train one, or open a .zip)");
    if (valid !== null && valid.name === data.name)
      throw new Error(`the validation file has the data file's name, ${data.name}: rename one of them`);
    const files: LabelledFiles = {};
    for (const file of valid === null ? [data] : [data, valid]) {
      files[file.name] = new Uint8Array(await file.arrayBuffer());
      await keepLabelled(runDir, file.name, files[file.name]);
    }
    startWatching(runDir);
    send({ type: "finetune", runDir, from, data: data.name, files, settings, backend: chosenBackend() });
    status(`Reading ${data.name} and ${from}...`);
  } catch (err) {
    status(`Error: ${(err as Error).message}`);
  }
};

$<HTMLInputElement>("ft-from-zip").onchange = (event) =>
  void openZip(event, (runDir) => ($<HTMLSelectElement>("ft-from").value = runDir));

// ---- stopping, resuming

$("stop").onclick = () => {
  send({ type: "stop" });
  status("Stopping after this step (a checkpoint is saved)...");
};

/** Whether the list is read again at the next record (a resume just started). */
let relistOnRecord = false;

async function resume(runDir: string): Promise<void> {
  try {
    const data = await runData(runDir);
    startWatching(runDir);
    // The curves up to the checkpoint the run continues from (it redoes the steps after it, to the same values).
    const latest = await new RunDirectory(runDir).latestCheckpoint();
    if (latest !== null) await drawMetrics(runDir, lastCheckpointStep(storage.path.basename(latest)));
    relistOnRecord = true;
    send({ type: "resume", runDir, data, backend: chosenBackend() });
    status(`Resuming ${runDir}...`);
  } catch (err) {
    status(`Error: ${(err as Error).message}`);
  }
}

/** Draws the records of `runDir`'s metrics.jsonl (up to step `upTo`) on the curves, which show that run. */
async function drawMetrics(runDir: string, upTo = Infinity): Promise<void> {
  if (curves.shown !== runId(runDir)) curves.reset(runId(runDir));
  const metrics = storage.path.join(runDir, "metrics.jsonl");
  if ((await storage.stat(metrics)) === null) return;
  const kept = parseMetrics(await storage.readText(metrics), metrics).filter((r) => r.step <= upTo);
  curves.addText(kept.map((r) => JSON.stringify(r)).join("\n"));
}

// ---- the runs of this browser

/** Draws the table of runs, with Resume, Download and Use buttons. */
async function listRuns(): Promise<void> {
  const runs = await readTabRuns();
  const body = $("runs").querySelector("tbody")!;
  body.replaceChildren();
  for (const run of runs) {
    const row = body.insertRow();
    row.dataset.run = run.dir;
    row.insertCell().textContent = run.id;
    row.insertCell().textContent = run.task === "text-classification" ? "classifier" : "masked LM";
    row.insertCell().textContent = run.state;
    row.insertCell().textContent = String(run.step ?? "");
    const actions = row.insertCell();
    const button = (label: string, cls: string, action: () => void): HTMLButtonElement => {
      const b = document.createElement("button");
      b.textContent = label;
      b.className = cls;
      b.onclick = action;
      actions.append(b);
      return b;
    };
    if (!run.owned && run.state !== "finished")
      button("Resume", "resume", () => void resume(run.dir)).disabled = training;
    // A run in training is mid-write (a checkpoint being swapped in): its zip waits until it stops or finishes.
    const zip = button("Download .zip", "download", () => void downloadRun(run.dir));
    zip.disabled = run.owned;
    if (run.owned) zip.title = "available once the run is stopped or finished";
    button(run.task === "text-classification" ? "Use to classify" : "Use for fill-mask", "select", () =>
      chooseRun(run.dir, run.task),
    );
  }
  fillSources(runs);
}

/** The pre-trained runs fine-tuning may start from (any run of this browser that is not training). */
function fillSources(runs: TabRun[]): void {
  const select = $<HTMLSelectElement>("ft-from");
  const chosen = select.value;
  select.replaceChildren(
    ...runs
      .filter((r) => !r.owned)
      .map(
        (r) =>
          new Option(
            `${r.id} (${r.task === "text-classification" ? "classifier" : "masked LM"}, step ${r.step ?? "?"})`,
            r.dir,
          ),
      ),
  );
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/** Makes `runDir` the run that fill-mask or classification uses, saying which checkpoint answers. */
function chooseRun(runDir: string, task: TabRun["task"]): void {
  state.runDir = runDir;
  const classifier = task === "text-classification";
  $<HTMLButtonElement>("fill").disabled = classifier;
  $<HTMLButtonElement>("classify").disabled = !classifier;
  const what = classifier ? "Classification" : "Fill-mask";
  $("try-which").textContent = `${what} uses ${runDir}.`;
  // Its curves, unless a run is training (its curves stay) or they are shown already.
  if (!training && curves.shown !== runId(runDir)) void drawMetrics(runDir);
  void describeRunCheckpoint(runDir).then((which) => {
    if (state.runDir === runDir) $("try-which").textContent = `${what} uses ${runDir}: ${which}.`;
  });
}

$("fill").onclick = () => {
  if (state.runDir === null) return;
  state.predictions = null;
  send({ type: "fill", runDir: state.runDir, text: $<HTMLInputElement>("fill-text").value, topK: 5 });
};

$("classify").onclick = () => {
  if (state.runDir === null) return;
  state.labels = null;
  send({ type: "classify", runDir: state.runDir, text: $<HTMLInputElement>("classify-text").value });
};

/** Opens a .zip of a run folder as a run of this browser, then `then(runDir)`. */
async function openZip(event: Event, then: (runDir: string) => void): Promise<void> {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  try {
    const runDir = await openRunZip(file);
    await listRuns();
    then(runDir);
  } catch (err) {
    status(`Error: ${file.name}: ${(err as Error).message}`);
  }
}

$<HTMLInputElement>("open-zip").onchange = (event) =>
  void openZip(event, (runDir) => {
    const row = document.querySelector<HTMLTableRowElement>(`#runs tr[data-run="${runDir}"]`);
    chooseRun(runDir, row?.cells[1].textContent === "classifier" ? "text-classification" : "fill-mask");
  });

void listRuns();
// A run another tab trains shows as running; once that tab is closed or reloaded its lock goes and the
// run shows as interrupted (the list is read again while one shows as running and this tab is idle).
setInterval(() => {
  const running = [...document.querySelectorAll("#runs td")].some((td) => td.textContent === "running");
  if (running && !training) void listRuns();
}, 1000);
