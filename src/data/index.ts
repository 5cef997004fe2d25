/**
 * The data layer of `mlm train`: corpus reading (in memory, or streamed from files, folders, globs and
 * .gz into an on-disk token cache), sampling and split, download, tokenized cache,
 * epoch order, collate with masking into the model's batch layout, and a resumable data loader.
 */
export { readLines, type NumberedLine } from "../util/lines.js";
export { TATOEBA_ATTRIBUTION, bundledCorpusPath, projectRoot } from "./paths.js";
export {
  readCorpus,
  streamCorpus,
  requireCorpusFile,
  isTsvHeader,
  resolveFormat,
  describeCorpusStats,
  type CorpusFormat,
  type ReadCorpusOptions,
  type CorpusStats,
  type CorpusRecord,
} from "./corpus.js";
export { sampleAndSplit, splitSizes, roundHalfEven, type SplitOptions, type Split } from "./split.js";
export {
  DEFAULT_DATASET_URL,
  downloadFile,
  formatBytes,
  type DownloadOptions,
  type DownloadResult,
} from "./download.js";
export {
  downloadSst2,
  sst2Paths,
  SST2_ATTRIBUTION,
  SST2_FILES,
  SST2_URL,
  SST2_ZIP,
  type Sst2Options,
  type Sst2Result,
} from "./glue-sst2.js";
export {
  loadOrBuildTokenized,
  tokenizedCacheKey,
  tokenizeSentences,
  tokenizeSteps,
  encodeTokenized,
  decodeTokenized,
  type TokenizedSplit,
  type EncodeFn,
  type TokenizeOptions,
  type LoadOrBuildOptions,
  type LoadOrBuildResult,
} from "./cache.js";
export { specialTable, createMasking, type MaskOptions, type SpecialSpec, type Masking } from "./masking.js";
export { IGNORE_LABEL, type Batch, type PackMode, type Padding } from "./batch.js";
export { BatchBuffers, collate, batchOf, type CollateOptions, type SentenceRow } from "./collate.js";
export { batchesPerEpoch, epochOrder, type OrderOptions } from "./order.js";
export { MlmDataLoader, type DataLoaderOptions, type LoaderPosition } from "./loader.js";
export { textCorpus, type InMemoryCorpus } from "./text-corpus.js";
export { prepareData, runLoaders, requireToken, neverMaskedIds, type PreparedData } from "./prepare.js";
export {
  copySentence,
  sentenceIds,
  isInMemory,
  inMemory,
  type TokenSource,
  type StoredTokens,
} from "./token-source.js";
export { corpusFiles, isCorpusSet, isGlob } from "./corpus-files.js";
export { corpusBytes, READ_BLOCK_BYTES, type FileReadStats } from "./corpus-bytes.js";
export { corpusFingerprint, combinedFingerprint } from "./corpus-fingerprint.js";
export { hashSentence, sideOf, Side, type Hash64 } from "./sentence-hash.js";
export { HashSet64 } from "./hash-set64.js";
export {
  openTokenCache,
  tokenCacheDir,
  TokenCacheWriter,
  StoredSplit,
  type TokenCacheMeta,
  type StoredSplitMeta,
  type OpenedTokenCache,
  type SplitName,
} from "./token-store.js";
export {
  prepareStreamed,
  streamsCorpus,
  corpusFileInfos,
  describeStreamStats,
  STREAM_ABOVE_BYTES,
  TOKENIZER_TEXT_BYTES,
  type StreamStats,
  type StreamedData,
  type StreamPrepareOptions,
  type CorpusFileInfo,
} from "./stream-prepare.js";
export { corpusText } from "./blob-text.js";
export {
  readLabelled,
  parseLabelled,
  labelledFromMemory,
  labelNames,
  labelIds,
  labelledFormatOf,
  DEFAULT_TEXT_COLUMNS,
  DEFAULT_LABEL_COLUMN,
  type LabelledColumns,
  type LabelledExample,
  type LabelledFile,
  type LabelledFormat,
  type LabelledReader,
} from "./labelled.js";
export {
  encodeLabelled,
  splitLabelled,
  LabelledLoader,
  type LabelledSplit,
  type LabelledLoaderOptions,
  type LabelledPosition,
} from "./labelled-batches.js";
export {
  LABELLED_DATA_OPTIONS,
  readLabelledSplits,
  type LabelledDataOptions,
  type LabelledSplits,
} from "./labelled-splits.js";
