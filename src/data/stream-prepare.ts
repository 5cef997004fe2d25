/**
 * Streaming preparation of a corpus of any size (one file, a folder or a glob; plain or gzip): one
 * pass reads every file block by block, deduplicates, samples and splits by a seeded hash of each
 * sentence (sentence-hash.ts), tokenizes the sentences kept (in chunks, on worker threads:
 * tokenize-pool.ts) and appends them to the on-disk token cache (token-store.ts), while hashing each
 * file's bytes for the run's fingerprint. Memory holds one read block, at most 4 chunks a worker, the
 * 64-bit hashes of the sampled sentences and the cache's write buffers, whatever the corpus's size. When no tokenizer is given, a first pass trains one on a hash-chosen share of the
 * unique sentences (at most about `TOKENIZER_TEXT_BYTES` of text).
 *
 * The sample is not the tutorial's: each sentence is kept with probability `sample` (the count varies
 * as a binomial draw around round(n * sample)), then sent to training with probability
 * `trainFraction`. So the in-memory way (split.ts) stays the one for a single small file (see
 * `streamsCorpus`), where the tutorial's exact sizes and draws are kept.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { TrainConfig } from "../config/index.js";
import { platform } from "../platform/index.js";
import { Tokenizer, TOKENIZER_STYLES, trainBpe } from "../tokenizer/index.js";
import { Pacer } from "../util/cooperative.js";
import { rememberFingerprint, type FileFingerprint } from "../util/file-fingerprint.js";
import { LineSplitter } from "../util/lines.js";
import { createProgress, type Progress } from "../util/progress.js";
import { corpusBytes, type FileReadStats } from "./corpus-bytes.js";
import { corpusFiles, isCorpusSet } from "./corpus-files.js";
import { combinedFingerprint } from "./corpus-fingerprint.js";
import { CorpusRecordParser, emptyStats, formatFromName } from "./corpus.js";
import { HashSet64 } from "./hash-set64.js";
import { hashSentence, sideOf, Side, type Hash64 } from "./sentence-hash.js";
import { encodeChunk, TokenizePool, type EncodedChunk } from "./tokenize-pool.js";
import { openTokenCache, TokenCacheWriter, TOKEN_CACHE_VERSION, type StoredSplit } from "./token-store.js";

/** A single plain file above this size is streamed under `--stream auto` (held in memory, it would take about 10 times its size). */
export const STREAM_ABOVE_BYTES = 64 * 1024 * 1024;
/** About how much text (UTF-16 code units) the tokenizer is trained on when a streamed corpus trains its own. */
export const TOKENIZER_TEXT_BYTES = 256 * 1024 * 1024;
/** How much larger than its file a gzip corpus's text is assumed to be, to choose the tokenizer's share. */
const GZIP_TEXT_RATIO = 3.5;

/** One file of a corpus, as found before reading. */
export interface CorpusFileInfo {
  path: string;
  size: number;
  mtimeMs: number;
  /** False for a pipe or device (no size, no fingerprint). */
  regular: boolean;
}

/** What the streaming pass counted. `lines = emptyDropped + sentences (+ TSV headers)`; `sampled = train + valid`. */
export interface StreamStats {
  path: string;
  files: number;
  /** Bytes of the files as stored (compressed for .gz). */
  rawBytes: number;
  gzipFiles: number;
  lines: number;
  emptyDropped: number;
  /** Non-empty sentences read (repeats included). */
  sentences: number;
  /** Repeats of a sampled sentence, dropped (a repeat of a left-out sentence is left out too). */
  duplicatesDropped: number;
  train: number;
  valid: number;
  seconds: number;
}

/** The result of `prepareStreamed`: both splits on disk, what the pass counted, the corpus fingerprint. */
export interface StreamedData {
  train: StoredSplit;
  valid: StoredSplit;
  stats: StreamStats;
  /** null for a pipe. */
  fingerprint: FileFingerprint | null;
  tokenizer: Tokenizer;
  tokenizerTrained: boolean;
  /** The cache folder, and whether it was there already. */
  cachePath: string;
  fromCache: boolean;
}

/** What the cache's meta.json keeps of the corpus pass. */
interface CorpusRecord {
  stats: StreamStats;
  fingerprint: FileFingerprint | null;
}

/**
 * Whether `config`'s corpus is prepared by streaming: always for a folder, a glob or a .gz file (the
 * in-memory reader takes one plain file); for a single plain file with `--stream yes`, or with `auto`
 * (the default) when it is above `STREAM_ABOVE_BYTES`. The bundled corpus and a corpus in memory never are.
 */
export async function streamsCorpus(config: Pick<TrainConfig, "data" | "stream">): Promise<boolean> {
  if (config.data === null) return false;
  if (await isCorpusSet(config.data)) return true;
  if (/\.gz$/i.test(config.data)) return true;
  if (config.stream !== "auto") return config.stream === "yes";
  const info = await stat(config.data).catch(() => null);
  return info !== null && info.isFile() && info.size > STREAM_ABOVE_BYTES;
}

/** The files of a corpus with their sizes and modification times; `maxBytes` (a guard) refuses a larger corpus. */
export async function corpusFileInfos(spec: string, maxBytes: number | null = null): Promise<CorpusFileInfo[]> {
  const out: CorpusFileInfo[] = [];
  for (const path of await corpusFiles(spec)) {
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${path}: cannot read (${err.code ?? err.message})`);
    });
    out.push({ path, size: info.isFile() ? info.size : 0, mtimeMs: info.mtimeMs, regular: info.isFile() });
  }
  const total = out.reduce((s, f) => s + f.size, 0);
  if (maxBytes !== null && total > maxBytes)
    throw new Error(
      `${spec}: ${total} bytes, above --max-corpus-bytes ${maxBytes} (the guard is off by default; raise or drop it)`,
    );
  return out;
}

/** Options of `prepareStreamed`: the data keys of the run's configuration, and where messages go. */
export interface StreamPrepareOptions {
  config: Pick<
    TrainConfig,
    | "data"
    | "format"
    | "textField"
    | "maxLineBytes"
    | "maxCorpusBytes"
    | "sample"
    | "trainFraction"
    | "dataSeed"
    | "maxLen"
    | "cacheDir"
    | "progress"
    | "tokenizer"
    | "vocabSize"
    | "minFrequency"
    | "tokenizerStyle"
  >;
  /** The tokenizer to use (a resumed run's); else config.tokenizer, else one is trained. */
  tokenizer?: Tokenizer;
  log: (line: string) => void;
  /** Stops (throwing its reason, leaving no cache folder) once aborted; checked about every 50 ms. */
  signal?: AbortSignal;
  /** Worker threads tokenizing the kept sentences; 0 = this thread. Default `defaultTokenizeThreads()`. */
  tokenizeThreads?: number;
  /** Sentences per chunk sent to a worker. Default `TOKENIZE_CHUNK`. */
  tokenizeChunk?: number;
}

/** Sentences per chunk a tokenizer worker gets: large enough that a message costs little beside the tokenizing. */
export const TOKENIZE_CHUNK = 4096;

/**
 * One tokenizer worker per core but one (this thread reads, inflates, hashes and writes), at most 3:
 * beyond that this thread's own work is the limit.
 */
export function defaultTokenizeThreads(): number {
  return Math.max(0, Math.min(3, platform().cpuCount() - 1));
}

/**
 * Prepares a corpus by streaming (see the module comment), or opens its token cache when one was
 * made with the same files (path, size, modification time), settings and tokenizer.
 *
 * @example
 *   const config = resolveConfig({ data: "corpora/wiki" });
 *   const data = await prepareStreamed({ config, log: console.error });
 *   const { train } = runLoaders(config, data.tokenizer, data.train, data.valid); // batches read from the cache
 */
export async function prepareStreamed(options: StreamPrepareOptions): Promise<StreamedData> {
  const { config, log } = options;
  const spec = config.data;
  if (spec === null) throw new Error("prepareStreamed: no corpus path (config.data) to stream");
  const files = await corpusFileInfos(spec, config.maxCorpusBytes);

  let tokenizer = options.tokenizer;
  let tokenizerTrained = false;
  if (tokenizer === undefined && config.tokenizer !== null) {
    tokenizer = Tokenizer.load(config.tokenizer);
    log(`tokenizer: loaded ${config.tokenizer} (${tokenizer.vocabSize} tokens)`);
  }
  if (tokenizer === undefined) {
    tokenizer = await trainStreamedTokenizer(files, options);
    tokenizerTrained = true;
  }
  tokenizer.setTruncation(config.maxLen);

  const key = streamCacheKey(files, config, tokenizer);
  const cached = await openTokenCache<CorpusRecord>(config.cacheDir, key);
  if (cached !== null && !("unusable" in cached)) {
    // The same files may have been named another way (a folder, then a glob): report this run's name.
    const { stats, fingerprint } = cached.meta.corpus;
    const named = (await isCorpusSet(spec)) ? resolve(spec) : files[0].path;
    return {
      train: cached.train,
      valid: cached.valid,
      stats: { ...stats, path: spec },
      fingerprint: fingerprint === null ? null : { ...fingerprint, path: named },
      tokenizer,
      tokenizerTrained,
      cachePath: cached.dir,
      fromCache: true,
    };
  }
  if (cached !== null) log(`token cache for ${spec} is unusable (${cached.unusable}); rebuilding it`);

  const writer = await TokenCacheWriter.create(config.cacheDir, key, tokenizer.vocabSize);
  let record: CorpusRecord;
  try {
    record = await streamIntoCache(files, options, tokenizer, writer);
    await writer.finish(record);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const opened = await openTokenCache<CorpusRecord>(config.cacheDir, key);
  if (opened === null || "unusable" in opened)
    throw new Error(`the token cache just written for ${spec} cannot be read back (${opened?.unusable ?? "missing"})`);
  return {
    train: opened.train,
    valid: opened.valid,
    stats: record.stats,
    fingerprint: record.fingerprint,
    tokenizer,
    tokenizerTrained,
    cachePath: opened.dir,
    fromCache: false,
  };
}

/** One line for the CLI: what the pass read, kept and dropped. */
export function describeStreamStats(s: StreamStats, sample: number, seed: number): string {
  const mb = (s.rawBytes / 1e6).toFixed(1);
  return (
    `${s.path}: ${s.files} file${s.files === 1 ? "" : "s"} (${mb} MB${s.gzipFiles > 0 ? `, ${s.gzipFiles} gzip` : ""}), ` +
    `${s.lines} lines, ${s.emptyDropped} empty; sample ${sample} by sentence hash (seed ${seed}): ` +
    `${s.train + s.valid} sentences kept, ${s.duplicatesDropped} repeats dropped` +
    (s.seconds > 0 ? ` (${(s.rawBytes / 1e6 / s.seconds).toFixed(1)} MB/s)` : "")
  );
}

/** The cache key: the files as found (path, size, modification time), every data setting, the tokenizer. */
function streamCacheKey(
  files: readonly CorpusFileInfo[],
  config: StreamPrepareOptions["config"],
  tokenizer: Tokenizer,
): string {
  const settings = {
    version: TOKEN_CACHE_VERSION,
    files: files.map((f) => [f.path, f.size, f.mtimeMs]),
    format: config.format,
    textField: config.textField,
    maxLineBytes: config.maxLineBytes,
    sample: config.sample,
    trainFraction: config.trainFraction,
    dataSeed: config.dataSeed,
    maxLen: config.maxLen,
    tokenizer: createHash("sha256").update(tokenizer.toString()).digest("hex"),
  };
  return createHash("sha256").update(JSON.stringify(settings)).digest("hex");
}

/**
 * Every trimmed, non-empty sentence of the files, in order, in batches (one per block read: a yield
 * per line would cost more than the reading). Each file's fingerprint (hashed while reading) is
 * pushed to `fingerprints` once the file is read to its end.
 */
async function* corpusSentences(
  files: readonly CorpusFileInfo[],
  options: StreamPrepareOptions,
  stats: StreamStats,
  bar: Progress,
  fingerprints: FileFingerprint[],
): AsyncGenerator<string[]> {
  const { config, signal } = options;
  const pacer = new Pacer(signal);
  const start = performance.now();
  let rawDone = 0;
  const status = (): string => {
    const s = Math.max(1e-3, (performance.now() - start) / 1000);
    return `${(rawDone / 1e6 / s).toFixed(1)} MB/s, ${Math.round(stats.sentences / s)} sent/s`;
  };
  const batch: string[] = [];
  const emit = (_lineNo: number, raw: string): void => {
    const text = raw.trim();
    if (text.length === 0) fileStats.emptyDropped++;
    else batch.push(text);
  };
  let fileStats = emptyStats("");
  for (const file of files) {
    const read: FileReadStats = { rawBytes: 0, gzip: false, sha256: null };
    fileStats = emptyStats(file.path);
    const name = file.path.replace(/\.gz$/i, "");
    const parser = new CorpusRecordParser(
      file.path,
      formatFromName(name, config.format),
      { textField: config.textField },
      fileStats,
    );
    const splitter = new LineSplitter(file.path, { maxLineBytes: config.maxLineBytes });
    const feed = (lines: string[]): void => {
      let lineNo = splitter.lineNo - lines.length;
      for (const line of lines) parser.line(++lineNo, line, emit);
    };
    for await (const block of corpusBytes(file.path, read, (n) => (rawDone += n))) {
      feed(splitter.push(block));
      if (batch.length > 0) {
        stats.sentences += batch.length;
        yield batch;
        batch.length = 0;
      }
      if (pacer.due()) {
        bar.update(rawDone, status());
        await pacer.pause();
      }
    }
    feed(splitter.end());
    parser.end(emit);
    if (batch.length > 0) {
      stats.sentences += batch.length;
      yield batch;
      batch.length = 0;
    }
    stats.lines += fileStats.lines;
    stats.emptyDropped += fileStats.emptyDropped;
    stats.rawBytes += read.rawBytes;
    if (read.gzip) stats.gzipFiles++;
    if (file.regular) fingerprints.push(await rememberFingerprint(file.path, file, read.sha256 ?? "", config.cacheDir));
  }
  bar.update(rawDone, status());
}

function emptyStreamStats(spec: string, files: number): StreamStats {
  return {
    path: spec,
    files,
    rawBytes: 0,
    gzipFiles: 0,
    lines: 0,
    emptyDropped: 0,
    sentences: 0,
    duplicatesDropped: 0,
    train: 0,
    valid: 0,
    seconds: 0,
  };
}

/** The corpus pass: sample, split, deduplicate, tokenize, append to the cache. */
async function streamIntoCache(
  files: readonly CorpusFileInfo[],
  options: StreamPrepareOptions,
  tokenizer: Tokenizer,
  writer: TokenCacheWriter,
): Promise<CorpusRecord> {
  const { config } = options;
  const spec = config.data!;
  const stats = emptyStreamStats(spec, files.length);
  const total = files.reduce((s, f) => s + f.size, 0);
  const bar = createProgress({ label: "prepare", total, silent: !config.progress });
  const seen = new HashSet64();
  const h: Hash64 = { hi: 0, lo: 0 };
  const start = performance.now();
  const fingerprints: FileFingerprint[] = [];
  // Kept sentences are tokenized a chunk at a time: on this thread until the first chunk is full (a
  // small corpus starts no worker), then on worker threads, at most 2 chunks a worker in flight, and
  // written in the order they were read (the same bytes as on one thread).
  const threads = options.tokenizeThreads ?? defaultTokenizeThreads();
  const chunkSize = options.tokenizeChunk ?? TOKENIZE_CHUNK;
  let pool: TokenizePool | null = null;
  // Chunks not written yet, oldest first: `encoded` is a worker's answer, or this thread's result
  // (`ready`), made when every worker had 2 chunks to do, rather than waiting for them.
  interface Pending {
    texts: string[];
    sides: Side[];
    encoded: Promise<EncodedChunk>;
    ready: boolean;
  }
  const queue: Pending[] = [];
  let atWorkers = 0;
  let texts: string[] = [];
  let sides: Side[] = [];
  const write = (chunk: { texts: string[]; sides: Side[] }, encoded: EncodedChunk): void => {
    let at = 0;
    for (let i = 0; i < chunk.texts.length; i++) {
      const n = encoded.lengths[i];
      if (n === 0 || n > config.maxLen)
        throw new Error(
          `tokenizing gave ${n} tokens; expected 1 to maxLen=${config.maxLen} (the encoder must add [CLS]/[SEP] and truncate): "${chunk.texts[i].slice(0, 60)}"`,
        );
      writer.add(chunk.sides[i] === Side.Train ? "train" : "valid", encoded.ids.subarray(at, at + n));
      at += n;
    }
  };
  /** Writes the oldest chunks, waiting for them while more than `keep` are pending, then those already answered. */
  const writeOldest = async (keep: number): Promise<void> => {
    while (queue.length > 0 && (queue.length > keep || queue[0].ready)) {
      const oldest = queue.shift()!;
      write(oldest, await oldest.encoded);
    }
  };
  const flush = async (last: boolean): Promise<void> => {
    const chunk = { texts, sides };
    texts = [];
    sides = [];
    if (pool === null && threads > 0 && !last) pool = await TokenizePool.start(tokenizer, config.maxLen, threads);
    if (pool === null) write(chunk, encodeChunk(tokenizer, chunk.texts));
    else if (chunk.texts.length > 0 && atWorkers < 2 * threads) {
      const entry: Pending = { ...chunk, encoded: pool.encode(chunk.texts), ready: false };
      atWorkers++;
      void entry.encoded.then(
        () => {
          entry.ready = true;
          atWorkers--;
        },
        () => undefined, // awaited (and thrown) by writeOldest
      );
      queue.push(entry);
    } else if (chunk.texts.length > 0)
      queue.push({ ...chunk, encoded: Promise.resolve(encodeChunk(tokenizer, chunk.texts)), ready: true });
    await writeOldest(last ? 0 : 4 * threads);
  };
  try {
    for await (const batch of corpusSentences(files, options, stats, bar, fingerprints)) {
      for (const text of batch) {
        hashSentence(text, h);
        const side = sideOf(h, config.dataSeed, config.sample, config.trainFraction);
        if (side === Side.Dropped) continue;
        if (!seen.add(h.hi, h.lo)) {
          stats.duplicatesDropped++;
          continue;
        }
        texts.push(text);
        sides.push(side);
        if (side === Side.Train) stats.train++;
        else stats.valid++;
        if (texts.length === chunkSize) await flush(false);
      }
    }
    await flush(true);
  } finally {
    bar.stop();
    (pool as TokenizePool | null)?.close();
  }
  stats.seconds = (performance.now() - start) / 1000;
  if (stats.train === 0 || stats.valid === 0)
    throw new Error(
      `${spec}: sample ${config.sample} of ${stats.sentences} sentences gives ${stats.train} training and ${stats.valid} ` +
        `validation sentences; both must be non-empty (raise --sample, or use more data)`,
    );
  // A pipe's bytes cannot be read again to compare: its run resumes unchecked (as today).
  const pipe = files.some((f) => !f.regular);
  return { stats, fingerprint: pipe ? null : combinedFingerprint(spec, fingerprints, await isCorpusSet(spec)) };
}

/**
 * Trains the tokenizer of a streamed corpus on the unique sentences of a hash-chosen share of it,
 * about `TOKENIZER_TEXT_BYTES` of text (all of a smaller corpus), counted word by word as they stream.
 */
async function trainStreamedTokenizer(
  files: readonly CorpusFileInfo[],
  options: StreamPrepareOptions,
): Promise<Tokenizer> {
  const { config, log, signal } = options;
  const estimate = files.reduce((s, f) => s + f.size * (/\.gz$/i.test(f.path) ? GZIP_TEXT_RATIO : 1), 0);
  const share = Math.min(1, TOKENIZER_TEXT_BYTES / Math.max(1, estimate));
  const stats = emptyStreamStats(config.data!, files.length);
  const total = files.reduce((s, f) => s + f.size, 0);
  const bar = createProgress({ label: "tokenizer sentences", total, silent: !config.progress });
  let used = 0;
  // The trainer counts the words of the sentences as they stream: only the counts stay in memory.
  async function* chosen(): AsyncGenerator<string> {
    const seen = new HashSet64();
    const h: Hash64 = { hi: 0, lo: 0 };
    let chars = 0;
    for await (const batch of corpusSentences(files, options, stats, bar, []))
      for (const text of batch) {
        hashSentence(text, h);
        // Salted apart from the data seed's own sample decision (another mix of the same hash).
        if (sideOf(h, config.dataSeed ^ 0x5eed70c, share, 1) === Side.Dropped) continue;
        if (!seen.add(h.hi, h.lo)) continue;
        used++;
        yield text;
        chars += text.length;
        if (chars >= 1.5 * TOKENIZER_TEXT_BYTES) return; // the size estimate was far off: enough text
      }
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = await trainBpe(
      chosen(),
      {
        vocabSize: config.vocabSize,
        minFrequency: config.minFrequency,
        ...TOKENIZER_STYLES[config.tokenizerStyle],
        maxLength: config.maxLen,
        showProgress: config.progress,
      },
      { signal },
    );
  } finally {
    bar.stop();
  }
  log(
    `tokenizer: trained BPE on ${used} unique sentences (a ${(share * 100).toFixed(share < 0.1 ? 2 : 1)}% share of ${config.data} chosen by sentence hash), ${tokenizer.vocabSize} tokens`,
  );
  return tokenizer;
}
