/**
 * The run directory: its layout and format version, its configuration, checkpoints (safetensors),
 * metrics.jsonl, status and the listing of runs, all read and written through the platform's storage.
 * Training writes runs through this module; pipelines, `mlm runs` and `mlm eval` read them through it.
 *
 * @example
 *   import { RunDirectory, listRuns } from "mlm-ts/run";
 *   const run = new RunDirectory("runs/demo");
 *   const config = await run.readConfig();       // the run's settings (format 0 or 1)
 *   const metrics = await run.readMetrics();     // every logged figure
 *   console.log(await listRuns("runs"));
 */
export {
  RUN_FORMAT_UNVERSIONED,
  RUN_FORMAT_VERSION,
  RUN_FILES,
  CHECKPOINT_FILES,
  lastCheckpointName,
  isLastCheckpointName,
  defaultRunDir,
  newRunDir,
  isRunEntryName,
  EVENTS_FILE_PREFIX,
} from "./layout.js";
export { acquireRunLock, RunLock, type LockOwner } from "./lock.js";
export { writeRunInputs, readRunInputs, checkRunInputs, fingerprintStoredFile, type RunInputs } from "./inputs.js";
export {
  RunDirectory,
  listLastCheckpoints,
  loadLocatedCheckpoint,
  resolveCheckpointDir,
  type RunCheckpoint,
} from "./run-dir.js";
export {
  formatVersionOf,
  parseRunConfig,
  parseCheckpointConfig,
  runConfigRecord,
  checkpointConfigRecord,
  modelConfigFrom,
} from "./run-config.js";
export {
  saveCheckpoint,
  loadCheckpoint,
  fromCheckpointFile,
  type Checkpoint,
  type LoadCheckpointOptions,
} from "./checkpoint.js";
export { writeSafetensors, readSafetensors, readSafetensorsMetadata, type LoadedTensor } from "./safetensors.js";
export {
  writeDirectoryAtomic,
  recoverDirectory,
  readableDirectory,
  type DirectoryWriter,
  type DirectoryWriteOptions,
  type SwapStage,
} from "./atomic-directory.js";
export {
  MetricsLog,
  parseMetrics,
  readMetricsFile,
  truncateMetrics,
  formatMetricsLine,
  type MetricsRecord,
  type MetricValue,
} from "./metrics.js";
export { readRunFiles, writeRunFiles, type RunFile } from "./run-files.js";
export {
  CURVE_FIGURES,
  curveColumnsOfText,
  encodeCurveColumns,
  decodeCurveColumns,
  type CurveColumns,
  type CurveSplit,
  type SplitColumns,
} from "./curve-columns.js";
export { writeRunStatus, readRunStatus, RUN_STATES, type RunState, type RunStatus } from "./status.js";
export {
  listRuns,
  inspectRun,
  summarizeRun,
  runCurves,
  isRunDirectory,
  type RunSummary,
  type RunCurves,
} from "./runs.js";
export { splitTaskRecord, taskRecord, type ClassifierRecord, type TaskName } from "./task-record.js";
export { readJsonObject } from "./json-file.js";
