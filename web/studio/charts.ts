// The curves: one uPlot chart per figure, every plotted run overlaid in its colour, against step or
// wall time, with smoothing of the noisy training figures, an optional log scale, and uPlot's drag-zoom
// (double-click resets). Charts are rebuilt only when their series change; new points only set data.
import uPlot from "uplot";
import { tickLabel } from "../../src/track/svg-chart.js";
import { smooth, type RunCurves, type TRAIN_FIELDS, type VALID_FIELDS } from "./metrics-store.js";

type Line =
  | { split: "train"; field: (typeof TRAIN_FIELDS)[number]; label: string; smooth?: boolean; dash?: boolean }
  | { split: "valid"; field: (typeof VALID_FIELDS)[number]; label: string; smooth?: boolean; dash?: boolean };

interface Panel {
  title: string;
  lines: Line[];
}

export const PANELS: Panel[] = [
  {
    title: "loss (train solid, validation dashed)",
    lines: [
      { split: "train", field: "loss", label: "train loss", smooth: true },
      { split: "valid", field: "loss", label: "valid loss", dash: true },
    ],
  },
  { title: "perplexity (validation)", lines: [{ split: "valid", field: "perplexity", label: "perplexity" }] },
  {
    title: "masked-token accuracy (top-1 solid, top-5 dashed)",
    lines: [
      { split: "valid", field: "accuracy", label: "top-1" },
      { split: "valid", field: "top5", label: "top-5", dash: true },
    ],
  },
  { title: "learning rate", lines: [{ split: "train", field: "lr", label: "lr" }] },
  { title: "gradient norm", lines: [{ split: "train", field: "gradNorm", label: "grad norm", smooth: true }] },
  { title: "tokens per second", lines: [{ split: "train", field: "tokensPerSec", label: "tokens/s", smooth: true }] },
];

export interface ChartOptions {
  x: "step" | "time";
  smoothing: number;
  log: boolean;
}

const HEIGHT = 220;

interface Built {
  chart: uPlot;
  /** What the series are: a change rebuilds the chart. */
  key: string;
  zoomed: boolean;
}

export class Charts {
  private readonly built: (Built | null)[] = PANELS.map(() => null);
  private readonly boxes: HTMLElement[];

  constructor(
    container: HTMLElement,
    private readonly curves: Map<string, RunCurves>,
    private readonly colorOf: (id: string) => string,
  ) {
    this.boxes = PANELS.map((panel) => {
      const box = document.createElement("div");
      box.className = "chart";
      const title = document.createElement("h3");
      title.textContent = panel.title;
      box.append(title);
      container.append(box);
      return box;
    });
    addEventListener("resize", () => {
      for (const [i, b] of this.built.entries()) b?.chart.setSize({ width: this.width(i), height: HEIGHT });
    });
  }

  private width(i: number): number {
    return Math.max(200, this.boxes[i].clientWidth);
  }

  /** Draws the runs `ids` with `options`: new charts where the series changed, new data elsewhere. */
  render(ids: string[], options: ChartOptions): void {
    PANELS.forEach((panel, i) => {
      const series: { id: string; line: Line; xs: number[]; ys: (number | null)[] }[] = [];
      for (const id of ids) {
        const c = this.curves.get(id);
        if (c === undefined) continue;
        for (const line of panel.lines) {
          const cols = line.split === "train" ? c.train : c.valid;
          const raw = (cols.values as Record<string, (number | null)[]>)[line.field];
          if (cols.step.length === 0) continue;
          let ys = line.smooth ? smooth(raw, options.smoothing) : raw;
          if (options.log) ys = ys.map((y) => (y !== null && y > 0 ? y : null));
          series.push({ id, line, xs: options.x === "step" ? cols.step : cols.time, ys });
        }
      }
      const key = JSON.stringify([options, series.map((s) => [s.id, s.line.label])]);
      const data =
        series.length === 0
          ? ([[]] as uPlot.AlignedData)
          : uPlot.join(series.map((s) => [s.xs, s.ys] as uPlot.AlignedData));
      const built = this.built[i];
      if (built !== null && built.key === key) {
        built.chart.setData(data, !built.zoomed);
        return;
      }
      built?.chart.destroy();
      this.built[i] = this.create(i, key, options, series, data);
    });
  }

  private create(
    i: number,
    key: string,
    options: ChartOptions,
    series: { id: string; line: Line }[],
    data: uPlot.AlignedData,
  ): Built {
    const entry: Built = { chart: null as unknown as uPlot, key, zoomed: false };
    const opts: uPlot.Options = {
      width: this.width(i),
      height: HEIGHT,
      legend: { show: false }, // the runs table shows each run's colour; a legend of 40 series would not fit a phone
      scales: { x: { time: false }, y: { distr: options.log ? 3 : 1 } },
      // uPlot rounds small ticks to 0 (a learning rate of 3e-4); 3 significant digits keep them apart.
      axes: [
        { label: options.x === "step" ? "step" : "seconds" },
        { size: 56, values: (_u, ticks) => ticks.map(tickLabel) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: `${s.id} ${s.line.label}`,
          stroke: this.colorOf(s.id),
          width: 1.5,
          dash: s.line.dash ? [6, 4] : undefined,
          spanGaps: true,
          points: { show: s.line.split === "valid" },
        })),
      ],
      hooks: { setSelect: [() => (entry.zoomed = true)] },
    };
    entry.chart = new uPlot(opts, data, this.boxes[i]);
    entry.chart.over.addEventListener("dblclick", () => (entry.zoomed = false));
    return entry;
  }

  /** How many points the charts draw (values that are not gaps, over every series): what tests watch grow. */
  points(): number {
    let n = 0;
    for (const b of this.built)
      if (b !== null) for (const ys of b.chart.data.slice(1)) for (const y of ys) if (y != null) n++;
    return n;
  }
}
