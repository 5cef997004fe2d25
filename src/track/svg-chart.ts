/**
 * A line chart as an SVG string: plain text, no dependency, so that a run directory carries a picture
 * of its curves that any browser, editor or repository page shows without mlm-ts. Each panel has its
 * own y range (losses and accuracies differ by orders of magnitude); non-finite points are skipped.
 *
 * @example
 *   const svg = lineChartSvg([
 *     { title: "loss", series: [{ name: "train", color: "#1f77b4", points: [[0, 9.8], [100, 6.3]] }] },
 *   ]);
 *   svg.startsWith("<svg"); // true
 */

export interface ChartSeries {
  name: string;
  /** A CSS colour. */
  color: string;
  /** [x, y] pairs in x order. */
  points: [number, number][];
}

export interface ChartPanel {
  title: string;
  series: ChartSeries[];
}

export interface ChartSize {
  /** Width of the whole picture, in px. */
  width?: number;
  /** Height of one panel, in px. */
  panelHeight?: number;
}

const MARGIN = { left: 56, right: 12, top: 24, bottom: 28 };

/** Escapes text for SVG content and attributes. */
const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A short label of a tick value: 3 significant digits, no exponent for everyday numbers. */
export function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** The [min, max] of the finite values, widened when empty or flat so that a scale can be made. */
export function finiteRange(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** One panel's axes, ticks, lines and legend, translated to `top`. */
function panelSvg(panel: ChartPanel, top: number, width: number, height: number, xRange: [number, number]): string {
  const all = panel.series.flatMap((s) => s.points);
  const [y0, y1] = finiteRange(all.map((p) => p[1]));
  const [x0, x1] = xRange;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number): number => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * plotH;
  const parts = [`<g transform="translate(0,${top})">`];
  parts.push(`<text x="${MARGIN.left}" y="16" font-weight="bold">${esc(panel.title)}</text>`);
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    const x = x0 + ((x1 - x0) * i) / 4;
    parts.push(
      `<text x="${MARGIN.left - 4}" y="${sy(y).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${tickLabel(y)}</text>`,
      `<text x="${sx(x).toFixed(1)}" y="${height - 10}" text-anchor="middle">${tickLabel(x)}</text>`,
    );
  }
  let legendX = width - MARGIN.right;
  for (const s of [...panel.series].reverse()) {
    parts.push(`<text x="${legendX}" y="16" text-anchor="end" fill="${esc(s.color)}">${esc(s.name)}</text>`);
    legendX -= 8 * s.name.length + 16;
    const d = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join("");
    if (d !== "") parts.push(`<path d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.5"/>`);
  }
  parts.push("</g>");
  return parts.join("\n");
}

/** The panels stacked, sharing one x range; `xLabel` is written under the last one. */
export function lineChartSvg(panels: ChartPanel[], size: ChartSize = {}, xLabel = "step"): string {
  const width = size.width ?? 640;
  const height = size.panelHeight ?? 220;
  const xRange = finiteRange(panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0]))));
  const total = height * panels.length + 16;
  const body = panels.map((p, i) => panelSvg(p, i * height, width, height, xRange)).join("\n");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" ` +
    `font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="#fff"/>\n${body}\n` +
    `<text x="${width / 2}" y="${total - 4}" text-anchor="middle">${esc(xLabel)}</text>\n</svg>\n`
  );
}
