// The studio page: the runs table, their curves (streamed live from the server), the try-a-model
// panel and the start form. State lives here; each part draws itself (runs-table.ts, charts.ts,
// try-model.ts, train-form.ts).
import "uplot/dist/uPlot.min.css";
import {
  getJson,
  metricsEvents,
  metricsColumns,
  postJson,
  type Info,
  type JobInfo,
  type Prediction,
  type RunDetail,
  type RunListing,
  type Tokenized,
} from "./api.js";
import { Charts, type ChartOptions } from "./charts.js";
import { addColumns, addLines, emptyCurves, type RunCurves } from "./metrics-store.js";
import { colorOf } from "./run-colors.js";
import { RunsTable } from "./runs-table.js";
import { setUpTrainForm, type FormField } from "./train-form.js";
import { renderPredictions, renderTokens } from "./try-model.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const state = {
  runs: [] as RunListing[],
  jobs: {} as Record<string, JobInfo>,
  plotted: new Set<string>(),
  known: new Set<string>(),
  selected: null as string | null,
};
const curves = new Map<string, RunCurves>();
let events: EventSource | null = null;
let streamed = "";
/** Runs whose existing lines have all arrived since the stream opened. */
const replayed = new Set<string>();

/** What tests and the bench read: the points drawn, and when the first full render happened (ms since navigation). */
const probe = {
  firstRender: null as number | null,
  /** When the last run's replay arrived, and the milliseconds spent parsing lines and drawing charts. */
  replayedAt: null as number | null,
  /** When the event stream was asked for (every run's columns in). */
  streamAt: null as number | null,
  parseMs: 0,
  renderMs: 0,
  renders: 0,
  chartPoints: (): number => charts.points(),
};
(globalThis as unknown as { __studio: typeof probe }).__studio = probe;

const charts = new Charts($("charts"), curves, colorOf);
const table = new RunsTable($<HTMLTableElement>("runs"), {
  select: (id) => void selectRun(id),
  togglePlot: (id, on) => {
    if (on) state.plotted.add(id);
    else state.plotted.delete(id);
    openStream();
    drawTable();
    scheduleRender();
  },
  stop: (id) =>
    void postJson(`/api/runs/${encodeURIComponent(id)}/stop`, {}).then(refreshRuns, (e: Error) => alert(e.message)),
});

function chartOptions(): ChartOptions {
  return {
    x: $<HTMLSelectElement>("x-axis").value === "time" ? "time" : "step",
    smoothing: Number($<HTMLInputElement>("smoothing").value),
  };
}

/** Resolves at the first drawing of the curves. */
let curvesDrawn: () => void = () => undefined;
const firstCurves = new Promise<void>((resolve) => (curvesDrawn = resolve));

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const ids = [...state.plotted].sort();
    // While the runs' files replay, one chart build at the end beats one per arriving run.
    if (!ids.every((id) => replayed.has(id))) return;
    const t0 = performance.now();
    charts.render(ids, chartOptions());
    probe.renderMs += performance.now() - t0;
    probe.renders++;
    if (probe.firstRender === null) {
      probe.firstRender = performance.now();
      curvesDrawn();
    }
  });
}

/** Which opening of the stream is current: a newer one (the plotted set changed) makes older ones drop out. */
let generation = 0;

/**
 * The plotted runs' curves: each run's columns (what its metrics.jsonl held), then one event stream
 * for all of them from where those ended. Reopened (fetching the columns again) when the plotted set changes.
 */
function openStream(): void {
  const ids = [...state.plotted].sort();
  const key = ids.join("\n");
  if (key === streamed) return;
  streamed = key;
  const current = ++generation;
  events?.close();
  events = null;
  for (const id of [...curves.keys()]) if (!state.plotted.has(id)) curves.delete(id);
  replayed.clear();
  if (ids.length === 0) return;
  // Each run's columns are taken in as they arrive, while the others are still on their way.
  const loaded = ids.map((id) =>
    metricsColumns(id).then((columns) => {
      if (current === generation) {
        const t0 = performance.now();
        const c = emptyCurves();
        addColumns(c, columns);
        curves.set(id, c);
        probe.parseMs += performance.now() - t0;
      }
      return columns.offset;
    }),
  );
  void Promise.all(loaded).then((offsets) => {
    if (current !== generation) return;
    probe.streamAt ??= performance.now();
    listen(ids, metricsEvents(ids.map((id, i) => ({ id, offset: offsets[i] }))));
  });
}

/** Feeds the stream's events into the curves. */
function listen(ids: string[], source: EventSource): void {
  events = source;
  /** An event's run id (its first data line) and the rest (metrics lines, for "lines" events). */
  const dataOf = (e: MessageEvent<string>): [string, string] => {
    const cut = e.data.indexOf("\n");
    return cut === -1 ? [e.data, ""] : [e.data.slice(0, cut), e.data.slice(cut + 1)];
  };
  source.addEventListener("lines", (e) => {
    const [id, lines] = dataOf(e as MessageEvent<string>);
    const c = curves.get(id);
    const t0 = performance.now();
    const added = c !== undefined && addLines(c, lines);
    probe.parseMs += performance.now() - t0;
    if (added) scheduleRender();
  });
  source.addEventListener("reset", (e) => {
    const [id] = dataOf(e as MessageEvent<string>);
    curves.set(id, emptyCurves());
  });
  source.addEventListener("replayed", (e) => {
    replayed.add(dataOf(e as MessageEvent<string>)[0]);
    if (ids.every((id) => replayed.has(id))) probe.replayedAt ??= performance.now();
    scheduleRender();
  });
  // A run's status changed (a stream opening on 20 runs sends 20 at once): the listing, after the curves are drawn.
  source.addEventListener("status", () => void firstCurves.then(refreshRuns));
}

function drawTable(): void {
  table.render(state.runs, { plotted: state.plotted, selected: state.selected, jobs: state.jobs, colorOf });
  $("runs-empty").hidden = state.runs.length > 0;
  const trySelect = $<HTMLSelectElement>("try-run");
  const current = trySelect.value;
  trySelect.replaceChildren(
    ...state.runs.map((r) => new Option(r.id, r.id, false, r.id === (state.selected ?? current))),
  );
}

/** Notes runs not seen before: each is plotted at once. */
function meet(ids: string[]): void {
  for (const id of ids) {
    if (!state.known.has(id)) {
      state.known.add(id);
      state.plotted.add(id);
    }
  }
}

/** The listing request out now, and the one queued behind it (see refreshRuns). */
let listing: Promise<void> | null = null;
let nextListing: Promise<void> | null = null;

/**
 * Reads the runs' listing and redraws the table. One request at a time: calls while one is out share
 * the next one (a stream opening on 20 runs sends 20 status events at once, and a run just started
 * from the form must appear in the listing its caller waits for).
 */
function refreshRuns(): Promise<void> {
  if (listing === null) {
    listing = loadRuns().finally(() => (listing = null));
    return listing;
  }
  nextListing ??= listing
    .catch(() => undefined)
    .then(() => {
      nextListing = null;
      return refreshRuns();
    });
  return nextListing;
}

async function loadRuns(): Promise<void> {
  const { runs, jobs } = await getJson<{ runs: RunListing[]; jobs: Record<string, JobInfo> }>("/api/runs");
  state.runs = runs;
  state.jobs = jobs;
  meet(runs.map((r) => r.id));
  drawTable();
  openStream();
  // A job that failed before its run folder held anything (a corpus it could not read) has no row: say why here.
  const lost = Object.entries(jobs).filter(
    ([id, j]) => !j.running && j.exitCode !== 0 && !runs.some((r) => r.id === id),
  );
  if (lost.length > 0) {
    const [id, job] = lost[lost.length - 1];
    $("train-error").textContent =
      `run ${id} exited with code ${job.exitCode}: ${job.stderr.trim().split("\n").at(-1) ?? ""}`;
  }
  if (state.selected === null && runs.length > 0) await selectRun(runs[runs.length - 1].id);
}

/** Shows run `id`'s configuration and makes it the one to try. */
async function selectRun(id: string): Promise<void> {
  state.selected = id;
  drawTable();
  let detail: RunDetail;
  try {
    detail = await getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
  } catch (e) {
    // A run just started from the form has no folder until its job writes one: the next listing shows it.
    $("config-title").textContent = `configuration of ${id}: ${(e as Error).message}`;
    return;
  }
  if (state.selected !== id) return; // another run was chosen meanwhile
  // status.json holds the step a run (re)started from; the listing has the step reached since.
  const listed = state.runs.find((r) => r.id === id);
  const status =
    detail.status === null
      ? null
      : { state: listed?.status ?? detail.status.state, step: Math.max(detail.status.step, listed?.steps ?? 0) };
  $("config-title").textContent =
    `configuration of ${id}${status === null ? "" : ` (${status.state} at step ${status.step})`}`;
  $("config").textContent = JSON.stringify(detail.config, null, 2);
  $("config-box").hidden = false;
  $<HTMLSelectElement>("try-run").value = id;
  $<HTMLSelectElement>("try-checkpoint").replaceChildren(...detail.checkpoints.map((c) => new Option(c, c)));
}

function tryRun(): { run: string; checkpoint: string } {
  return { run: $<HTMLSelectElement>("try-run").value, checkpoint: $<HTMLSelectElement>("try-checkpoint").value };
}

$("fill-form").addEventListener("submit", (e) => {
  e.preventDefault();
  $("fill-error").textContent = "";
  const body = {
    ...tryRun(),
    text: $<HTMLTextAreaElement>("fill-text").value,
    topK: Number($<HTMLInputElement>("fill-topk").value),
  };
  postJson<{ predictions: Prediction[][] }>("/api/fill", body).then(
    (r) => renderPredictions($("fill-results"), r.predictions),
    (err: Error) => ($("fill-error").textContent = err.message),
  );
});

$("tokenize-form").addEventListener("submit", (e) => {
  e.preventDefault();
  $("tokenize-error").textContent = "";
  postJson<Tokenized>("/api/tokenize", { run: tryRun().run, text: $<HTMLInputElement>("tokenize-text").value }).then(
    (t) => renderTokens($("tokens"), t),
    (err: Error) => ($("tokenize-error").textContent = err.message),
  );
});

$("try-run").addEventListener("change", () => void selectRun($<HTMLSelectElement>("try-run").value));
for (const id of ["x-axis", "smoothing"]) $(id).addEventListener("input", scheduleRender);
$("log-scale").addEventListener("change", () => charts.setLogAll($<HTMLInputElement>("log-scale").checked));

async function start(): Promise<void> {
  const info = await getJson<Info & { formSettings: FormField[] }>("/api/info");
  if (info.pages.includes("train")) {
    const link = document.createElement("a");
    link.href = "/train/";
    link.textContent = "train in the browser";
    $("nav").append(link);
  }
  setUpTrainForm($<HTMLFormElement>("train-form"), $("train-fields"), info.corpora, info.formSettings, (id) => {
    void refreshRuns().then(() => selectRun(id));
  });
  // The curves first: the stream opens on the ids alone. The listing (status, steps, best loss) reads
  // every run's metrics on the server, so it waits until the curves are drawn (or 3 s, should they not be).
  meet(info.runs);
  openStream();
  if (info.runs.length > 0) await Promise.race([firstCurves, new Promise((wait) => setTimeout(wait, 3000))]);
  await refreshRuns();
  // The listing (status, steps, best loss) is small; the curves come by the event stream, not from here.
  setInterval(() => void refreshRuns().catch(() => undefined), 2000);
}

void start();
