// The runs table: one row per run (plotted or not, colour, status, task, recipe, corpus, key settings,
// figures), sortable by any column, a click on a row selects the run (its configuration, the try-a-model
// panel); each row's actions: Stop a run in training, Resume an interrupted one, Rename, Delete.
// Keyboard: headers and rows are focusable, Enter or Space sorts by a header or selects a row.
import type { JobInfo, RunListing } from "./api.js";

interface Column {
  title: string;
  /** The value sorted on and shown. */
  value: (r: RunListing) => string | number | null;
  format?: (r: RunListing) => string;
}

const fixed = (x: number | null, d = 3): string => (x === null ? "-" : x.toFixed(d));
const duration = (s: number): string =>
  s < 60 ? `${s.toFixed(0)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;

const COLUMNS: Column[] = [
  { title: "run", value: (r) => r.id },
  { title: "status", value: (r) => r.status },
  { title: "task", value: (r) => (r.task === "text-classification" ? "classify" : "mlm") },
  { title: "recipe", value: (r) => r.recipe },
  {
    title: "corpus",
    value: (r) => r.corpus ?? "bundled",
    format: (r) => (r.corpus ?? "bundled").split(/[\\/]/).pop() ?? "",
  },
  {
    title: "layers x width",
    value: (r) => Number(r.settings.numLayers ?? 0) * 1e5 + Number(r.settings.dModel ?? 0),
    format: (r) => `${r.settings.numLayers ?? "?"} x ${r.settings.dModel ?? "?"}`,
  },
  { title: "batch", value: (r) => r.settings.batchSize },
  { title: "lr", value: (r) => r.settings.learningRate },
  { title: "steps", value: (r) => r.steps },
  { title: "best val loss", value: (r) => r.bestValidLoss, format: (r) => fixed(r.bestValidLoss) },
  { title: "wall time", value: (r) => r.seconds, format: (r) => duration(r.seconds) },
];

export interface RunsTableEvents {
  /** A row was clicked. */
  select(id: string): void;
  /** A run's plot box was ticked or unticked. */
  togglePlot(id: string, on: boolean): void;
  /** The stop button of a run in training. */
  stop(id: string): void;
  /** The resume button of an interrupted run. */
  resume(id: string): void;
  rename(id: string): void;
  remove(id: string): void;
}

/** Enter or Space on `el` does `act` (what a click does), for keyboard users. */
function onActivate(el: HTMLElement, act: () => void): void {
  el.addEventListener("keydown", (e) => {
    if (e.target !== el || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    act();
  });
}

export class RunsTable {
  private sortBy = 0;
  private ascending = true;

  constructor(
    private readonly table: HTMLTableElement,
    private readonly events: RunsTableEvents,
  ) {}

  /** Redraws the table. */
  render(
    runs: RunListing[],
    state: {
      plotted: Set<string>;
      selected: string | null;
      jobs: Record<string, JobInfo>;
      colorOf: (id: string) => string;
    },
  ): void {
    const col = COLUMNS[this.sortBy];
    const sorted = [...runs].sort((a, b) => {
      const [x, y] = [col.value(a), col.value(b)];
      const order = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
      return this.ascending ? order : -order;
    });
    const head = document.createElement("tr");
    head.append(document.createElement("th"));
    COLUMNS.forEach((c, i) => {
      const th = document.createElement("th");
      th.textContent = c.title + (i === this.sortBy ? (this.ascending ? " ▲" : " ▼") : "");
      th.tabIndex = 0;
      th.dataset.column = c.title;
      th.setAttribute("aria-sort", i === this.sortBy ? (this.ascending ? "ascending" : "descending") : "none");
      const sort = (): void => {
        this.ascending = i === this.sortBy ? !this.ascending : true;
        this.sortBy = i;
        this.render(runs, state);
        this.table.querySelector<HTMLElement>(`th[data-column="${c.title}"]`)?.focus();
      };
      th.addEventListener("click", sort);
      onActivate(th, sort);
      head.append(th);
    });
    head.append(document.createElement("th"));
    const body = document.createElement("tbody");
    for (const r of sorted) {
      const tr = document.createElement("tr");
      tr.dataset.run = r.id;
      if (r.id === state.selected) tr.className = "selected";
      const plot = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = state.plotted.has(r.id);
      box.title = "plot this run";
      box.addEventListener("click", (e) => e.stopPropagation());
      box.addEventListener("change", () => this.events.togglePlot(r.id, box.checked));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = state.colorOf(r.id);
      plot.append(box, swatch);
      tr.append(plot);
      for (const c of COLUMNS) {
        const td = document.createElement("td");
        td.textContent = c.format?.(r) ?? String(c.value(r) ?? "-");
        td.dataset.col = c.title;
        if (c.title === "status") {
          td.className = `status-${r.status}`;
          td.dataset.status = r.status;
          if (r.message !== undefined) td.title = r.message;
        }
        tr.append(td);
      }
      const actions = document.createElement("td");
      const button = (label: string, className: string, act: (id: string) => void): void => {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.className = className;
        b.addEventListener("click", (e) => {
          e.stopPropagation();
          b.disabled = true;
          act(r.id);
        });
        b.addEventListener("keydown", (e) => e.stopPropagation());
        actions.append(b);
      };
      const training = r.status === "running" || state.jobs[r.id]?.running === true;
      if (training) button("Stop", "stop", (id) => this.events.stop(id));
      else {
        if (r.status === "interrupted" || r.status === "stopped")
          button("Resume", "resume", (id) => this.events.resume(id));
        button("Rename", "rename", (id) => this.events.rename(id));
        button("Delete", "delete", (id) => this.events.remove(id));
      }
      tr.append(actions);
      tr.tabIndex = 0;
      tr.setAttribute("aria-selected", String(r.id === state.selected));
      tr.addEventListener("click", () => this.events.select(r.id));
      onActivate(tr, () => this.events.select(r.id));
      body.append(tr);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const focused = this.focusedSelector();
    this.table.replaceChildren(thead, body);
    // The listing redraws the table every 2 s: a keyboard user's focus stays on the same header, row or control.
    if (focused !== null) this.table.querySelector<HTMLElement>(focused)?.focus();
  }

  /** A selector of the table's element that has the focus, to find its twin in the redrawn table (null: none). */
  private focusedSelector(): string | null {
    const el = document.activeElement;
    if (!(el instanceof HTMLElement) || !this.table.contains(el)) return null;
    if (el.dataset.column !== undefined) return `th[data-column="${CSS.escape(el.dataset.column)}"]`;
    const row = el.closest<HTMLElement>("tr[data-run]");
    if (row === null) return null;
    const inRow = `tr[data-run="${CSS.escape(row.dataset.run ?? "")}"]`;
    if (el === row) return inRow;
    if (el instanceof HTMLInputElement) return `${inRow} input[type="checkbox"]`;
    return el instanceof HTMLButtonElement && el.className !== ""
      ? `${inRow} button.${CSS.escape(el.className)}`
      : inRow;
  }
}
