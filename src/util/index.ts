/**
 * General helpers every layer may use: the seeded random generator, progress reporting, crash-safe
 * file writes, the streaming UTF-8 line reader and the protobuf wire format.
 *
 * @example
 *   import { Rng, createProgress } from "mlm-ts/util";
 *   const rng = new Rng(42);
 *   const bar = createProgress({ label: "work", total: 10 });
 *   for (let i = 1; i <= 10; i++) bar.update(i, `${rng.int(100)}`);
 *   bar.stop();
 */
export { Rng, type RngState } from "./rng.js";
export { ProtoMessage, ProtoReader } from "./protobuf.js";
export { createProgress, formatSeconds, printLine, type Progress, type ProgressOptions } from "./progress.js";
export { writeFileAtomic, writeFileAtomicSync, fsyncDirectory, tempPathFor, type FileData } from "./atomic-write.js";
export {
  readLines,
  forEachLineChunk,
  lineChunks,
  CorpusError,
  DEFAULT_MAX_LINE_BYTES,
  MAX_LINE_BYTES_LIMIT,
  type NumberedLine,
  type LineReadOptions,
} from "./lines.js";
export {
  fingerprintFile,
  fingerprintText,
  fingerprintChange,
  isFileFingerprint,
  FINGERPRINT_CACHE_FILE,
  type FileFingerprint,
} from "./file-fingerprint.js";
export { runToEnd, runCooperatively, yieldToEventLoop, Pacer, type Interruptible } from "./cooperative.js";
export { parseDuration } from "./duration.js";
