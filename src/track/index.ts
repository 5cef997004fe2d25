/**
 * Experiment tracking: TensorBoard event files, reading metrics.jsonl by path, the curves as pictures
 * (curves.svg, text plots). metrics.jsonl itself is written and parsed by the run module
 * (`mlm-ts/run`: MetricsLog, parseMetrics); progress bars and atomic writes are in `mlm-ts/util`.
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
export { lineChartSvg, type ChartPanel, type ChartSeries, type ChartSize } from "./svg-chart.js";
export { curvesSvg, writeCurvesSvg, CURVE_COLORS } from "./curves-svg.js";
export { textPlot, type TextSeries } from "./text-plot.js";
