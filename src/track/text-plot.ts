/**
 * A line chart drawn with characters, for terminals: `mlm runs RUN` shows a run's curves this way.
 * Each series has its own mark; where two series meet, the later one's mark wins.
 *
 * @example
 *   textPlot([{ name: "train", mark: "*", points: [[0, 9.8], [50, 7.1], [100, 6.3]] }], { width: 40, height: 8 });
 *   // "  9.8 |*    ..." one string of lines, y labels on the left, x range and legend below
 */
import { finiteRange, tickLabel } from "./svg-chart.js";

export interface TextSeries {
  name: string;
  /** One character. */
  mark: string;
  /** [x, y] pairs. */
  points: [number, number][];
}

/** The series on a `width` x `height` grid of characters, with y labels, the x range and a legend. */
export function textPlot(series: TextSeries[], size: { width?: number; height?: number } = {}): string {
  const width = size.width ?? 60;
  const height = size.height ?? 12;
  const points = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const [x0, x1] = finiteRange(points.map((p) => p[0]));
  const [y0, y1] = finiteRange(points.map((p) => p[1]));
  const grid = Array.from({ length: height }, () => Array<string>(width).fill(" "));
  for (const s of series)
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const col = Math.round(((x - x0) / (x1 - x0)) * (width - 1));
      const row = height - 1 - Math.round(((y - y0) / (y1 - y0)) * (height - 1));
      grid[row][col] = s.mark;
    }
  const labels = grid.map((_, row) => (row === 0 ? tickLabel(y1) : row === height - 1 ? tickLabel(y0) : ""));
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const lines = grid.map((cells, row) => `${labels[row].padStart(labelWidth)} |${cells.join("").trimEnd()}`);
  const xLeft = tickLabel(x0);
  const xRight = tickLabel(x1);
  lines.push(`${" ".repeat(labelWidth)} +${"-".repeat(width)}`);
  lines.push(`${" ".repeat(labelWidth + 2)}${xLeft}${xRight.padStart(width - xLeft.length)}`);
  lines.push(`${" ".repeat(labelWidth + 2)}${series.map((s) => `${s.mark} ${s.name}`).join("   ")}`);
  return lines.join("\n") + "\n";
}
