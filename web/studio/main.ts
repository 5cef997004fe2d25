// The studio page: the runs table, their curves (streamed live from the server), the configuration
// differences of the plotted runs, a fine-tuning run's confusion matrices, the try-a-model panel
// (fill-mask, classify, nearest neighbours, tokenizer) and the start forms (train, fine-tune). State
// lives here; each part draws itself (runs-table.ts, charts.ts, config-diff.ts, try-model.ts, train-form.ts).
import "uplot/dist/uPlot.min.css";
import {
  getJson,
  metricsEvents,
  metricsColumns,
  postJson,
  type Evaluation,
  type Info,
  type JobInfo,
  type LabelScore,
  type Prediction,
  type RunDetail,
  type RunListing,
  type Tokenized,
} from "./api.js";
import { Charts, type ChartOptions } from "./charts.js";
import { addColumns, addLines, emptyCurves, type RunCurves } from "./metrics-store.js";
import { colorOf } from "./run-colors.js";
import { RunsTable } from "./runs-table.js";
import { renderConfigDiff } from "./config-diff.js";
import { choice, runNameField, setUpRunForm, type FormField } from "./train-form.js";
import { renderConfusion, renderLabels, renderNeighbours, renderPredictions, renderTokens } from "./try-model.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const state = {
  runs: [] as RunListing[],
  jobs: {} as Record<string, JobInfo>,
  plotted: new Set<string>(),
  known: new Set<string>(),
  selected: null as string | null,
};
const curves = new Map<string, RunCurves>();
/** The fine-tuning form's pre-trained run select (filled from the listing). */
let finetuneFrom: HTMLSelectElement | null = null;
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
  stop: (id) => void runAction(id, "stop"),
  resume: (id) => void runAction(id, "resume"),
  rename: (id) => {
    const name = prompt(`New name of run ${id}:`, id);
    if (name === null || name.trim() === "" || name.trim() === id) return void drawTable();
    void postJson(`/api/runs/${encodeURIComponent(id)}/rename`, { name: name.trim() }).then(
      () => {
        // The new name keeps the run's place: selected, plotted or not.
        if (state.selected === id) state.selected = name.trim();
        state.known.add(name.trim());
        if (state.plotted.delete(id)) state.plotted.add(name.trim());
        return refreshRuns();
      },
      (e: Error) => actionFailed(id, e),
    );
  },
  remove: (id) => {
    if (!confirm(`Delete run ${id} and every file in its folder? This cannot be undone.`)) return void drawTable();
    void postJson(`/api/runs/${encodeURIComponent(id)}`, {}, "DELETE").then(
      () => {
        state.plotted.delete(id);
        if (state.selected === id) state.selected = null;
        return refreshRuns();
      },
      (e: Error) => actionFailed(id, e),
    );
  },
});

/** What went wrong with an action on run `id`, shown above the table. */
function actionFailed(id: string, e: Error): void {
  $("runs-error").textContent = `${id}: ${e.message}`;
  drawTable();
}

/** Stop (SIGINT to its trainer) or Resume (a job of this studio) run `id`, then the listing again. */
function runAction(id: string, action: "stop" | "resume"): Promise<void> {
  $("runs-error").textContent = "";
  return postJson(`/api/runs/${encodeURIComponent(id)}/${action}`, {}).then(
    () => refreshRuns(),
    (e: Error) => actionFailed(id, e),
  );
}

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
  Promise.all(loaded).then(
    (offsets) => {
      if (current !== generation) return;
      probe.streamAt ??= performance.now();
      listen(ids, metricsEvents(ids.map((id, i) => ({ id, offset: offsets[i] }))), current);
    },
    () => streamLost(current),
  );
}

/**
 * The curves' stream of opening `current` failed or ended (a plotted run renamed or deleted meanwhile:
 * the server answers 404 for the whole set; the server gone): it opens again, from each run's columns,
 * for the runs the next listing shows, a second later.
 */
function streamLost(current: number): void {
  if (current !== generation) return;
  events?.close();
  events = null;
  streamed = "";
  setTimeout(() => void refreshRuns(), 1000);
}

/** Feeds the stream's events (of opening `current`) into the curves. */
function listen(ids: string[], source: EventSource, current: number): void {
  events = source;
  // EventSource reconnects by itself from the offsets it was opened with (its lines again) or not at all (a 404).
  source.addEventListener("error", () => streamLost(current));
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

/** Each run's config.json, fetched once per run for the differences of the plotted runs. */
const configs = new Map<string, Record<string, unknown>>();

/** Draws the differences while their box is open (each run's configuration is fetched once, then). */
async function drawConfigDiff(): Promise<void> {
  if (!$<HTMLDetailsElement>("diff-box").open) return;
  const ids = [...state.plotted].filter((id) => state.runs.some((r) => r.id === id)).sort();
  for (const id of ids)
    if (!configs.has(id))
      try {
        configs.set(id, (await getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`)).config);
      } catch {
        // gone meanwhile: left out
      }
  renderConfigDiff(
    $("config-diff"),
    ids.filter((id) => configs.has(id)).map((id) => ({ id, color: colorOf(id), config: configs.get(id)! })),
  );
}

function drawTable(): void {
  table.render(state.runs, { plotted: state.plotted, selected: state.selected, jobs: state.jobs, colorOf });
  void drawConfigDiff();
  $("runs-empty").hidden = state.runs.length > 0;
  // The fine-tuning form starts from masked-LM runs with a checkpoint to start from.
  if (finetuneFrom !== null) {
    const chosen = finetuneFrom.value;
    const pretrained = state.runs.filter((r) => r.task !== "text-classification" && r.steps > 0).map((r) => r.id);
    finetuneFrom.replaceChildren(...pretrained.map((id) => new Option(id, id, false, id === chosen)));
  }
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
    listing = loadRuns()
      .then(() => listingFailed(null), listingFailed)
      .finally(() => (listing = null));
    return listing;
  }
  nextListing ??= listing.then(() => {
    nextListing = null;
    return refreshRuns();
  });
  return nextListing;
}

const LISTING_FAILED = "the list of runs could not be read: ";

/** A failed listing is said above the table (it never rejects: callers need not catch), until one succeeds. */
function listingFailed(error: Error | null): void {
  const box = $("runs-error");
  if (error !== null) box.textContent = LISTING_FAILED + error.message;
  else if (box.textContent?.startsWith(LISTING_FAILED) === true) box.textContent = "";
}

async function loadRuns(): Promise<void> {
  const { runs, jobs } = await getJson<{ runs: RunListing[]; jobs: Record<string, JobInfo> }>("/api/runs");
  state.runs = runs;
  state.jobs = jobs;
  forgetGone(new Set(runs.map((r) => r.id)));
  meet(runs.map((r) => r.id));
  drawTable();
  drawConfigTitle();
  openStream();
  if (state.selected !== null) void showJobAndEvaluations(state.selected);
  // A job that failed before its run folder held anything (a corpus it could not read) has no row: say why here.
  const lost = Object.entries(jobs).filter(
    ([id, j]) => !j.running && j.exitCode !== 0 && !runs.some((r) => r.id === id),
  );
  if (lost.length > 0) {
    const [id, job] = lost[lost.length - 1];
    $("train-error").textContent =
      `run ${id} exited with code ${job.exitCode}: ${job.stderr.trim().split("\n").at(-1) ?? ""}`;
  }
  const selected = state.selected;
  const listed = selected !== null && runs.some((r) => r.id === selected);
  // A job of this studio that has not written its run folder yet keeps its selection.
  const starting = selected !== null && !listed && jobs[selected]?.running === true;
  if (listed && detailShown !== selected)
    await selectRun(selected); // its folder appeared, or its detail failed
  else if (!listed && !starting && runs.length > 0) await selectRun(runs[runs.length - 1].id);
}

/** Forgets what the page holds of runs no longer in the listing (renamed or deleted, from here or elsewhere). */
function forgetGone(listed: Set<string>): void {
  for (const id of [...state.known]) {
    if (listed.has(id)) continue;
    state.known.delete(id);
    state.plotted.delete(id);
    configs.delete(id);
    if (detailShown === id) detailShown = null;
  }
}

/** The run whose configuration and checkpoints are shown (fetched when it is selected and listed). */
let detailShown: string | null = null;

/**
 * The selected run's configuration header: its status and step as the table shows them (status.json
 * keeps the step a run started or resumed from; the listing has the step reached since), redrawn with
 * every listing. A run just started from a form has no folder until its job writes one: "starting".
 */
function drawConfigTitle(): void {
  const id = state.selected;
  if (id === null) return;
  const listed = state.runs.find((r) => r.id === id);
  const suffix =
    listed !== undefined ? ` (${listed.status} at step ${listed.steps})` : state.jobs[id]?.running ? " (starting)" : "";
  $("config-title").textContent = `configuration of ${id}${suffix}`;
  $("config-box").hidden = false;
}

/** Shows run `id`'s configuration and makes it the one to try. */
async function selectRun(id: string): Promise<void> {
  state.selected = id;
  drawTable();
  drawConfigTitle();
  if (detailShown !== id) {
    // Never another run's configuration under this one's title.
    $("config").textContent = "";
    $<HTMLSelectElement>("try-checkpoint").replaceChildren();
  }
  if (!state.runs.some((r) => r.id === id)) return; // not listed yet: the listing that shows it comes back here
  let detail: RunDetail;
  try {
    detail = await getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
  } catch {
    return; // renamed or deleted meanwhile: the next listing says so and selects another run
  }
  if (state.selected !== id) return; // another run was chosen meanwhile
  detailShown = id;
  $("config").textContent = JSON.stringify(detail.config, null, 2);
  $<HTMLSelectElement>("try-run").value = id;
  $<HTMLSelectElement>("try-checkpoint").replaceChildren(...detail.checkpoints.map((c) => new Option(c, c)));
  await showJobAndEvaluations(id);
}

/** The evaluations last drawn, by run: a listing refresh redraws only when they changed. */
let evaluationsShown = "";

/** Run `id`'s job log (when this studio started it) and, for a fine-tuning run, its confusion matrices. */
async function showJobAndEvaluations(id: string): Promise<void> {
  const job = state.jobs[id];
  $("job-log-box").hidden = job === undefined;
  if (job !== undefined) $("job-log").textContent = job.stderr === "" ? "(nothing written yet)" : job.stderr;
  const listed = state.runs.find((r) => r.id === id);
  if (listed?.task !== "text-classification") {
    $("eval-box").hidden = true;
    evaluationsShown = "";
    return;
  }
  let evaluations: Evaluation[];
  try {
    ({ evaluations } = await getJson<{ evaluations: Evaluation[] }>(`/api/runs/${encodeURIComponent(id)}/evaluations`));
  } catch {
    return; // renamed or deleted meanwhile: the next listing says so
  }
  const key = `${id}:${evaluations.map((e) => e.step).join(",")}`;
  if (key === evaluationsShown || state.selected !== id) return;
  evaluationsShown = key;
  $("eval-box").hidden = evaluations.length === 0;
  $("eval-run").textContent = id;
  const pick = $<HTMLSelectElement>("eval-step");
  // The latest evaluation first, followed as new ones arrive unless another one was chosen.
  const kept = pick.dataset.chosen === `${id}:${pick.value}` ? pick.value : null;
  pick.replaceChildren(...evaluations.map((e, i) => new Option(`step ${e.step}`, String(i))).reverse());
  pick.value = kept ?? String(evaluations.length - 1);
  const draw = (): void => {
    const e = evaluations[Number(pick.value)];
    if (e !== undefined) renderConfusion($("confusion"), e);
  };
  pick.onchange = () => {
    pick.dataset.chosen = `${id}:${pick.value}`;
    draw();
  };
  draw();
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

$("classify-form").addEventListener("submit", (e) => {
  e.preventDefault();
  $("classify-error").textContent = "";
  postJson<{ labels: LabelScore[] }>("/api/classify", {
    ...tryRun(),
    text: $<HTMLTextAreaElement>("classify-text").value,
  }).then(
    (r) => renderLabels($("classify-results"), r.labels),
    (err: Error) => ($("classify-error").textContent = err.message),
  );
});

$("neighbours-form").addEventListener("submit", (e) => {
  e.preventDefault();
  $("neighbours-error").textContent = "";
  const sentences = $<HTMLTextAreaElement>("neighbours-text")
    .value.split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  postJson<{ similarities: number[][] }>("/api/neighbours", { ...tryRun(), sentences }).then(
    (r) => renderNeighbours($("neighbours-results"), sentences, r.similarities),
    (err: Error) => ($("neighbours-error").textContent = err.message),
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

$("diff-box").addEventListener("toggle", () => void drawConfigDiff());
$("try-run").addEventListener("change", () => void selectRun($<HTMLSelectElement>("try-run").value));
for (const id of ["x-axis", "smoothing"]) $(id).addEventListener("input", scheduleRender);
$("log-scale").addEventListener("change", () => charts.setLogAll($<HTMLInputElement>("log-scale").checked));

async function start(): Promise<void> {
  const info = await getJson<Info & { formSettings: FormField[]; finetuneSettings: FormField[]; labelled: string[] }>(
    "/api/info",
  );
  if (info.pages.includes("train")) {
    const link = document.createElement("a");
    link.href = "/train/";
    link.textContent = "train in the browser";
    $("nav").append(link);
  }
  const afterStart = (id: string): void => {
    state.selected = id;
    void refreshRuns().then(() => selectRun(id));
  };
  setUpRunForm({
    form: $<HTMLFormElement>("train-form"),
    container: $("train-fields"),
    errorBox: $("train-error"),
    lead: [
      {
        key: "corpus",
        title: "corpus",
        input: choice(info.corpora),
        help: "a corpus file of the data folder (mlm studio --data)",
      },
      runNameField(),
    ],
    fields: info.formSettings,
    endpoint: "/api/train",
    started: afterStart,
  });
  finetuneFrom = choice([]);
  setUpRunForm({
    form: $<HTMLFormElement>("finetune-form"),
    container: $("finetune-fields"),
    errorBox: $("finetune-error"),
    lead: [
      {
        key: "from",
        title: "pre-trained run",
        input: finetuneFrom,
        help: "the run whose encoder starts the classifier",
      },
      {
        key: "data",
        title: "labelled data",
        input: choice(info.labelled),
        help: "a .tsv, .csv or .jsonl file of the data folder with a text and a label column",
      },
      runNameField(),
    ],
    fields: info.finetuneSettings,
    endpoint: "/api/finetune",
    started: afterStart,
  });
  // The curves first: the stream opens on the ids alone. The listing (status, steps, best loss) reads
  // every run's metrics on the server, so it waits until the curves are drawn (or 3 s, should they not be).
  meet(info.runs);
  openStream();
  if (info.runs.length > 0) await Promise.race([firstCurves, new Promise((wait) => setTimeout(wait, 3000))]);
  await refreshRuns();
  // The listing (status, steps, best loss) is small; the curves come by the event stream, not from here.
  setInterval(() => void refreshRuns(), 2000);
}

start().catch((e: Error) => ($("runs-error").textContent = `the studio could not be read: ${e.message}`));
