/**
 * Experiment tracking: TensorBoard event files, and reading metrics.jsonl by path. metrics.jsonl is
 * written through the run module (re-exported here with progress reporting and atomic file writes).
 */
export {
  SummaryWriter,
  EventWriter,
  type SummaryWriterOptions,
  type TfEvent,
  type ScalarPoint,
  parseEvents,
  scalarsOf,
  encodeEvent,
  decodeEvent,
  frameRecord,
  crc32c,
  maskedCrc32c,
} from "./tensorboard.js";
export { readEvents, readScalars } from "./event-files.js";
export { readMetrics } from "./metrics.js";
export { MetricsLog, formatMetricsLine, parseMetrics, type MetricsRecord, type MetricValue } from "../run/index.js";
export { writeFileAtomic, writeFileAtomicSync, fsyncDirectory, type FileData } from "../util/atomic-write.js";
export { createProgress, formatSeconds, type Progress, type ProgressOptions } from "../util/progress.js";
export { lineChartSvg, type ChartPanel, type ChartSeries, type ChartSize } from "./svg-chart.js";
export { curvesSvg, writeCurvesSvg, CURVE_COLORS } from "./curves-svg.js";
export { textPlot, type TextSeries } from "./text-plot.js";
