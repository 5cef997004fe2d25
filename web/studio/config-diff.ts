// The configuration differences of the plotted runs: one row per key whose value is not the same in
// every run (keys equal everywhere are left out), one column per run under its colour.

export interface RunConfig {
  id: string;
  color: string;
  config: Record<string, unknown>;
}

/** A value as one short cell: JSON for objects, "-" for a key the run lacks. */
const cell = (v: unknown): string => (v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v));

/** The keys (nested ones as a.b) whose values differ among `runs`, in sorted order. */
export function differingKeys(runs: RunConfig[]): string[] {
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  return keys.filter((k) => new Set(flat.map((f) => cell(f.get(k)))).size > 1);
}

/** `config` with nested plain objects as dotted keys (the classifier's id2label stays one value). */
function flatten(config: Record<string, unknown>, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out.set(`${prefix}${k}`, v);
  }
  return out;
}

/** Draws the differences of `runs` into `container` (a note when fewer than two runs or no difference). */
export function renderConfigDiff(container: HTMLElement, runs: RunConfig[]): void {
  if (runs.length < 2) {
    container.textContent = "Plot two runs or more to see how their configurations differ.";
    return;
  }
  const keys = differingKeys(runs);
  if (keys.length === 0) {
    container.textContent = "The plotted runs have the same configuration.";
    return;
  }
  const flat = runs.map((r) => flatten(r.config));
  const table = document.createElement("table");
  table.className = "config-diff";
  const head = document.createElement("tr");
  head.append(document.createElement("th"));
  for (const r of runs) {
    const th = document.createElement("th");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = r.color;
    th.append(swatch, r.id);
    head.append(th);
  }
  table.append(head);
  for (const k of keys) {
    const tr = document.createElement("tr");
    tr.dataset.key = k;
    const th = document.createElement("th");
    th.textContent = k;
    tr.append(th, ...flat.map((f) => Object.assign(document.createElement("td"), { textContent: cell(f.get(k)) })));
    table.append(tr);
  }
  container.replaceChildren(table);
}
