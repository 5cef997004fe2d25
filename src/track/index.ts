/** Experiment tracking and crash-safe file writes: TensorBoard events, metrics.jsonl, progress. */
export {
  SummaryWriter,
  EventWriter,
  type SummaryWriterOptions,
  type TfEvent,
  type ScalarPoint,
  readEvents,
  readScalars,
  encodeEvent,
  decodeEvent,
  frameRecord,
  crc32c,
  maskedCrc32c,
} from "./tensorboard.js";
export { MetricsLog, readMetrics, formatMetricsLine, type MetricsRecord, type MetricValue } from "./metrics.js";
export {
  writeFileAtomic,
  writeDirectoryAtomic,
  recoverDirectory,
  readableDirectory,
  fsyncDirectory,
  type FileData,
  type DirectoryWriter,
  type DirectoryWriteOptions,
  type SwapStage,
} from "./atomic-write.js";
export { createProgress, formatSeconds, printLine, type Progress, type ProgressOptions } from "./progress.js";
