// Saving a chart: its picture as PNG (the canvas uPlot drew, under the chart's title) or SVG (the
// same series redrawn by the library's own SVG chart, src/track/svg-chart.ts), and its data as CSV
// (x, then each series' raw and smoothed value; empty where a series has no point at that x).
import { lineChartSvg } from "../../src/track/svg-chart.js";

/** One plotted series as its chart holds it. */
export interface ExportSeries {
  name: string;
  color: string;
  /** Values aligned with the chart's x column: as logged, and as drawn (smoothed). */
  raw: (number | null | undefined)[];
  drawn: (number | null | undefined)[];
}

/** Hands `blob` to the browser as a download named `name`. */
export function download(name: string, blob: Blob): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** A file name of a chart title: "perplexity (validation)" -> "perplexity-validation". */
export const fileStem = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** A CSV field, quoted when it holds a comma, quote or line break. */
const field = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const cell = (v: number | null | undefined): string => (v === null || v === undefined ? "" : String(v));

/** The chart's data as CSV text: one row per x, two columns (raw, smoothed) per series. */
export function chartCsv(xLabel: string, xs: ArrayLike<number>, series: ExportSeries[]): string {
  const head = [xLabel, ...series.flatMap((s) => [`${s.name} raw`, `${s.name} smoothed`])].map(field).join(",");
  const rows: string[] = [head];
  for (let i = 0; i < xs.length; i++)
    rows.push([String(xs[i]), ...series.flatMap((s) => [cell(s.raw[i]), cell(s.drawn[i])])].join(","));
  return rows.join("\n") + "\n";
}

/** The chart as an SVG picture of its drawn (smoothed) series. */
export function chartSvg(
  title: string,
  xLabel: string,
  xs: ArrayLike<number>,
  series: ExportSeries[],
  width: number,
): string {
  const points = (s: ExportSeries): [number, number][] => {
    const out: [number, number][] = [];
    for (let i = 0; i < xs.length; i++) {
      const y = s.drawn[i];
      if (y !== null && y !== undefined) out.push([xs[i], y]);
    }
    return out;
  };
  return lineChartSvg(
    [{ title, series: series.map((s) => ({ name: s.name, color: s.color, points: points(s) })) }],
    { width },
    xLabel,
  );
}

/** The chart's canvas on a white page under its title, as a PNG blob. */
export function chartPng(title: string, canvas: HTMLCanvasElement): Promise<Blob> {
  const top = 24;
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height + top;
  const ctx = out.getContext("2d");
  if (ctx === null) return Promise.reject(new Error("no 2d canvas in this browser"));
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#222";
  ctx.font = "14px sans-serif";
  ctx.fillText(title, 8, 17);
  ctx.drawImage(canvas, 0, top);
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b === null ? reject(new Error("the PNG could not be made")) : resolve(b)), "image/png"),
  );
}
