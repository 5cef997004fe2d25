/**
 * curves.svg: a run's loss and accuracy curves as a picture in its directory, redrawn at each
 * evaluation, so that a run can be looked at without a browser-based tool or TensorBoard.
 *
 * @example
 *   await writeCurvesSvg("runs/demo");            // runs/demo/curves.svg from runs/demo/metrics.jsonl
 *   curvesSvg(await runCurves("runs/demo"));       // the same picture as a string
 */
import { platform, type Storage } from "../platform/index.js";
import { RUN_FILES, runCurves, type RunCurves } from "../run/index.js";
import { lineChartSvg } from "./svg-chart.js";

/** The colours of the curves (the first ones of matplotlib's, familiar from TensorBoard plots too). */
export const CURVE_COLORS = { train: "#1f77b4", valid: "#ff7f0e", top1: "#2ca02c", top5: "#d62728" } as const;

/** Two panels: training and validation loss; validation top-1 and top-5 accuracy (in %). */
export function curvesSvg(curves: RunCurves): string {
  const pct = (v: number | null): number => (v === null ? Number.NaN : 100 * v);
  return lineChartSvg([
    {
      title: "loss",
      series: [
        { name: "train", color: CURVE_COLORS.train, points: curves.train.map((t) => [t.step, t.loss]) },
        { name: "valid", color: CURVE_COLORS.valid, points: curves.valid.map((v) => [v.step, v.loss]) },
      ],
    },
    {
      title: "masked-token accuracy (valid, %)",
      series: [
        { name: "top-1", color: CURVE_COLORS.top1, points: curves.valid.map((v) => [v.step, pct(v.accuracy)]) },
        { name: "top-5", color: CURVE_COLORS.top5, points: curves.valid.map((v) => [v.step, pct(v.top5)]) },
      ],
    },
  ]);
}

/** Redraws `runDir/curves.svg` from the run's metrics.jsonl (an atomic write: readers never see half of it). */
export async function writeCurvesSvg(runDir: string, storage: Storage = platform().storage): Promise<void> {
  const svg = curvesSvg(await runCurves(runDir, storage));
  await storage.writeAtomic(storage.path.join(runDir, RUN_FILES.curves), svg);
}
