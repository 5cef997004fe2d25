// The curves: one uPlot chart per figure, every plotted run overlaid in its colour, against step or
// wall time, with smoothing of the noisy training figures and uPlot's drag-zoom (double-click resets).
// Every chart shares one x range (zooming one zooms all) and one cursor: hovering any chart fills each
// chart's legend with each series' step, raw and smoothed value. Each chart has its own log-scale box
// (perplexity starts on a log axis) and saves itself as PNG, SVG or CSV. Charts are rebuilt only when
// their series change; new points only set data.
import uPlot from "uplot";
import { tickLabel } from "../../src/track/svg-chart.js";
import { chartCsv, chartPng, chartSvg, download, fileStem, type ExportSeries } from "./chart-export.js";
import { smooth, type RunCurves, type TRAIN_FIELDS, type VALID_FIELDS } from "./metrics-store.js";

type Line =
  | { split: "train"; field: (typeof TRAIN_FIELDS)[number]; label: string; smooth?: boolean; dash?: boolean }
  | { split: "valid"; field: (typeof VALID_FIELDS)[number]; label: string; smooth?: boolean; dash?: boolean };

interface Panel {
  title: string;
  lines: Line[];
  /** Starts on a log axis: perplexity spans orders of magnitude (about 17,700 at step 0, tens later). */
  log?: boolean;
}

export const PANELS: Panel[] = [
  {
    title: "loss (train solid, validation dashed)",
    lines: [
      { split: "train", field: "loss", label: "train loss", smooth: true },
      { split: "valid", field: "loss", label: "valid loss", dash: true },
    ],
  },
  {
    title: "perplexity (validation)",
    lines: [{ split: "valid", field: "perplexity", label: "perplexity" }],
    log: true,
  },
  {
    title: "accuracy (masked-token top-1 or classification solid, top-5 dashed)",
    lines: [
      { split: "valid", field: "accuracy", label: "accuracy" },
      { split: "valid", field: "top5", label: "top-5", dash: true },
    ],
  },
  { title: "macro-F1 (fine-tuning, validation)", lines: [{ split: "valid", field: "macroF1", label: "macro-F1" }] },
  { title: "learning rate", lines: [{ split: "train", field: "lr", label: "lr" }] },
  { title: "gradient norm", lines: [{ split: "train", field: "gradNorm", label: "grad norm", smooth: true }] },
  { title: "tokens per second", lines: [{ split: "train", field: "tokensPerSec", label: "tokens/s", smooth: true }] },
];

export interface ChartOptions {
  x: "step" | "time";
  smoothing: number;
}

const HEIGHT = 220;

/** One series of a chart: its run and line, and its own columns (before uPlot.join aligns them). */
interface Series {
  id: string;
  line: Line;
  color: string;
  xs: number[];
  raw: (number | null)[];
  drawn: (number | null)[];
}

interface Built {
  chart: uPlot;
  /** What the series are: a change rebuilds the chart. */
  key: string;
  series: Series[];
}

/** 3 significant digits for axis ticks; uPlot's log axes hand null for the ticks they leave unlabelled. */
const tickLabels = (_u: uPlot, ticks: (number | null)[]): string[] =>
  ticks.map((t) => (t === null || !Number.isFinite(t) ? "" : tickLabel(t)));

/** A value in the readout: 6 significant digits. */
export const readoutValue = (v: number | null): string => (v === null ? "-" : String(Number(v.toPrecision(6))));

/** Whether a series has two points or fewer drawn: a line needs two, so it is drawn as big dots. */
const isDot = (s: Series): boolean => {
  let n = 0;
  for (const y of s.drawn) if (y !== null && ++n > 2) return false;
  return true;
};

/** The index in ascending `xs` nearest to `x` (-1 when empty). */
function nearest(xs: number[], x: number): number {
  if (xs.length === 0) return -1;
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && x - xs[lo - 1] < xs[lo] - x ? lo - 1 : lo;
}

export class Charts {
  private readonly built: (Built | null)[] = PANELS.map(() => null);
  private readonly boxes: HTMLElement[];
  private readonly plots: HTMLElement[];
  private readonly legends: HTMLElement[];
  private readonly logBoxes: HTMLInputElement[];
  /** The x range every chart shows: the zoomed one, else all the data's. */
  private zoom: [number, number] | null = null;
  private full: [number, number] = [0, 1];
  private options: ChartOptions = { x: "step", smoothing: 0 };
  private ids: string[] = [];

  constructor(
    container: HTMLElement,
    private readonly curves: Map<string, RunCurves>,
    private readonly colorOf: (id: string) => string,
  ) {
    this.boxes = [];
    this.plots = [];
    this.legends = [];
    this.logBoxes = [];
    PANELS.forEach((panel, i) => {
      const box = document.createElement("div");
      box.className = "chart";
      box.dataset.panel = String(i);
      const head = document.createElement("div");
      head.className = "chart-head";
      const title = document.createElement("h3");
      title.textContent = panel.title;
      const log = document.createElement("input");
      log.type = "checkbox";
      log.checked = panel.log === true;
      log.className = "log";
      log.addEventListener("change", () => this.rebuild(i));
      const logLabel = document.createElement("label");
      logLabel.append(log, " log");
      const tools = document.createElement("span");
      tools.className = "chart-tools";
      for (const kind of ["PNG", "SVG", "CSV"] as const) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = kind;
        b.className = `save-${kind.toLowerCase()}`;
        b.title = `save this chart ${kind === "CSV" ? "'s data" : ""} as ${kind}`;
        b.addEventListener("click", () => void this.save(i, kind));
        tools.append(b);
      }
      head.append(title, logLabel, tools);
      const plot = document.createElement("div");
      const legend = document.createElement("div");
      legend.className = "legend";
      box.append(head, plot, legend);
      container.append(box);
      this.boxes.push(box);
      this.plots.push(plot);
      this.legends.push(legend);
      this.logBoxes.push(log);
    });
    addEventListener("resize", () => {
      for (const [i, b] of this.built.entries()) b?.chart.setSize({ width: this.width(i), height: HEIGHT });
    });
  }

  private width(i: number): number {
    return Math.max(200, this.plots[i].clientWidth);
  }

  /** Puts every chart on a log axis (on) or back to linear (off). */
  setLogAll(on: boolean): void {
    this.logBoxes.forEach((b, i) => {
      if (b.checked !== on) {
        b.checked = on;
        this.rebuild(i);
      }
    });
  }

  private rebuild(i: number): void {
    this.built[i]?.chart.destroy();
    this.built[i] = null;
    this.render(this.ids, this.options);
  }

  /** Draws the runs `ids` with `options`: new charts where the series changed, new data elsewhere. */
  render(ids: string[], options: ChartOptions): void {
    if (JSON.stringify(options) !== JSON.stringify(this.options)) this.zoom = null;
    this.ids = ids;
    this.options = options;
    let lo = Infinity;
    let hi = -Infinity;
    const panels = PANELS.map((panel, i) => {
      const log = this.logBoxes[i].checked;
      const series: Series[] = [];
      for (const id of ids) {
        const c = this.curves.get(id);
        if (c === undefined) continue;
        for (const line of panel.lines) {
          const cols = line.split === "train" ? c.train : c.valid;
          if (cols.step.length === 0) continue;
          const raw = (cols.values as Record<string, (number | null)[]>)[line.field];
          if (!raw.some((y) => y !== null)) continue; // a figure this run does not log (perplexity of a classifier)
          let drawn = line.smooth ? smooth(raw, options.smoothing) : raw;
          if (log) drawn = drawn.map((y) => (y !== null && y > 0 ? y : null));
          const xs = options.x === "step" ? cols.step : cols.time;
          lo = Math.min(lo, xs[0]);
          hi = Math.max(hi, xs[xs.length - 1]);
          series.push({ id, line, color: this.colorOf(id), xs, raw, drawn });
        }
      }
      return { i, log, series };
    });
    // One point (or none) still needs a range to draw in.
    this.full =
      lo > hi ? [0, 1] : lo === hi ? [lo - Math.max(1, Math.abs(lo) * 0.05), hi + Math.max(1, hi * 0.05)] : [lo, hi];
    for (const { i, log, series } of panels) {
      // A series that grows past two points (a live run) is rebuilt once: its dots become a line.
      const key = JSON.stringify([options, log, series.map((s) => [s.id, s.line.label, s.color, isDot(s)])]);
      const data =
        series.length === 0
          ? ([[]] as uPlot.AlignedData)
          : uPlot.join(series.map((s) => [s.xs, s.drawn] as uPlot.AlignedData));
      const built = this.built[i];
      if (built !== null && built.key === key) {
        built.series = series;
        built.chart.setData(data, this.zoom === null);
      } else {
        built?.chart.destroy();
        this.built[i] = this.create(i, key, log, series, data);
        this.drawLegend(i);
      }
    }
    this.applyX();
  }

  /** Sets every chart's x scale to the zoomed range, else the whole data's. */
  private applyX(): void {
    const [min, max] = this.zoom ?? this.full;
    for (const b of this.built) if (b !== null && b.chart.data[0].length > 0) b.chart.setScale("x", { min, max });
  }

  private create(i: number, key: string, log: boolean, series: Series[], data: uPlot.AlignedData): Built {
    const entry: Built = { chart: null as unknown as uPlot, key, series };
    // Axis text and grid in the page's colours (dark mode follows the system: style.css).
    const css = getComputedStyle(document.documentElement);
    const axis = css.getPropertyValue("--chart-axis").trim() || "#222";
    const grid = { stroke: css.getPropertyValue("--chart-grid").trim() || "rgba(0,0,0,0.07)", width: 1 };
    const opts: uPlot.Options = {
      width: this.width(i),
      height: HEIGHT,
      legend: { show: false }, // the legend below the chart (drawLegend) wraps on a phone; uPlot's table would not
      cursor: { sync: { key: "mlm-studio" } },
      scales: { x: { time: false, auto: false }, y: log ? { distr: 3, log: 10 } : { distr: 1 } },
      // uPlot rounds small ticks to 0 (a learning rate of 3e-4); 3 significant digits keep them apart.
      // A fixed y-axis width keeps the plots of every chart aligned under one another.
      axes: [
        { label: this.options.x === "step" ? "step" : "seconds", values: tickLabels, stroke: axis, grid },
        { size: 60, values: tickLabels, stroke: axis, grid },
      ],
      series: [
        {},
        ...series.map((s) => {
          const dot = isDot(s);
          return {
            label: `${s.id} ${s.line.label}`,
            stroke: s.color,
            fill: undefined,
            width: 1.5,
            dash: s.line.dash ? [6, 4] : undefined,
            spanGaps: true,
            // A line needs two points: a run that logged its training loss once is drawn as a dot.
            points: { show: s.line.split === "valid" || dot, size: dot ? 8 : 5, fill: s.color },
          };
        }),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            this.zoom = [min, max];
            queueMicrotask(() => this.applyX());
          },
        ],
        setCursor: [(u) => this.readout(i, u)],
      },
    };
    entry.chart = new uPlot(opts, data, this.plots[i]);
    entry.chart.over.addEventListener("dblclick", () => {
      this.zoom = null;
      queueMicrotask(() => this.applyX());
    });
    return entry;
  }

  /** The legend under chart `i`: one row per series (colour, run, line), its readout empty until hovered. */
  private drawLegend(i: number): void {
    const built = this.built[i];
    const legend = this.legends[i];
    const at = document.createElement("div");
    at.className = "readout-x";
    at.textContent = `hover a chart for values (${this.options.x === "step" ? "step" : "seconds"})`;
    const rows = (built?.series ?? []).map((s, k) => {
      const row = document.createElement("div");
      row.className = "legend-row";
      row.dataset.series = String(k);
      row.dataset.run = s.id;
      row.dataset.line = s.line.label;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = s.color;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = `${s.id} · ${s.line.label}`;
      const value = document.createElement("span");
      value.className = "value";
      row.append(swatch, name, value);
      return row;
    });
    legend.replaceChildren(at, ...rows);
  }

  /**
   * Fills chart `i`'s legend for the cursor (its own, or another chart's, synced): for each series the
   * point nearest the cursor's x, with its step (or time), the value logged and the value drawn.
   */
  private readout(i: number, u: uPlot): void {
    const built = this.built[i];
    if (built === null || built.chart !== u) return;
    const legend = this.legends[i];
    const left = u.cursor.left ?? -1;
    const inside = left >= 0 && u.data[0].length > 0;
    const x = inside ? u.posToVal(left, "x") : Number.NaN;
    const xName = this.options.x === "step" ? "step" : "s";
    const at = legend.querySelector<HTMLElement>(".readout-x");
    if (at !== null)
      at.textContent = inside
        ? `${xName} ${this.options.x === "step" ? Math.round(x) : readoutValue(x)}`
        : "hover a chart for values";
    built.series.forEach((s, k) => {
      const value = legend.querySelector<HTMLElement>(`.legend-row[data-series="${k}"] .value`);
      if (value === null) return;
      const j = inside ? nearest(s.xs, x) : -1;
      if (j < 0) {
        value.textContent = "";
        return;
      }
      value.dataset.x = String(s.xs[j]);
      value.dataset.raw = String(s.raw[j]);
      value.textContent =
        `${xName} ${readoutValue(s.xs[j])}: ${readoutValue(s.raw[j])}` +
        (s.line.smooth && this.options.smoothing > 0 ? ` (smoothed ${readoutValue(s.drawn[j])})` : "");
    });
  }

  /** Saves chart `i` as a picture (PNG, SVG) or its data (CSV). */
  private async save(i: number, kind: "PNG" | "SVG" | "CSV"): Promise<void> {
    const built = this.built[i];
    if (built === null) return;
    const title = PANELS[i].title;
    const stem = fileStem(title);
    const xLabel = this.options.x === "step" ? "step" : "seconds";
    const xs = built.chart.data[0];
    // Each series' raw values on the chart's joined x column.
    const series: ExportSeries[] = built.series.map((s, k) => {
      const byX = new Map(s.xs.map((x, j) => [x, s.raw[j]]));
      return {
        name: `${s.id} ${s.line.label}`,
        color: s.color,
        raw: Array.from(xs, (x) => byX.get(x)),
        drawn: built.chart.data[k + 1] as (number | null | undefined)[],
      };
    });
    if (kind === "CSV") download(`${stem}.csv`, new Blob([chartCsv(xLabel, xs, series)], { type: "text/csv" }));
    else if (kind === "SVG")
      download(
        `${stem}.svg`,
        new Blob([chartSvg(title, xLabel, xs, series, this.width(i))], { type: "image/svg+xml" }),
      );
    else download(`${stem}.png`, await chartPng(title, built.chart.ctx.canvas));
  }

  /** How many points the charts draw (values that are not gaps, over every series): what tests watch grow. */
  points(): number {
    let n = 0;
    for (const b of this.built)
      if (b !== null) for (const ys of b.chart.data.slice(1)) for (const y of ys) if (y != null) n++;
    return n;
  }
}
