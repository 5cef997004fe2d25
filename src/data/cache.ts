/**
 * Tokenized dataset cache: each split is tokenized once and stored as one compact binary file, so later
 * runs start at once. The file name carries a sha256 key of everything that changes the result (the
 * sentences, the tokenizer fingerprint, the maximum length, any extra setting), so another corpus,
 * tokenizer or setting gets its own file and the same inputs reuse theirs.
 *
 * File layout (little-endian):
 *   0   8 bytes  magic "MLMTOKEN"
 *   8   u32      format version (1)
 *   12  u32      bytes per token id: 2 (Uint16, every id <= 65535) or 4 (Int32)
 *   16  u32      n, number of sentences
 *   20  u32      total number of tokens
 *   24  u32      maxLen used when building
 *   28  u32      CRC-32 of everything after the header
 *   32  32 bytes sha256 key (the same as in the file name)
 *   64  Int32    offsets [n + 1]: sentence i is ids[offsets[i] .. offsets[i+1])
 *   ..  ids      [total] as Uint16 or Int32
 * A file whose size, magic, version, key or checksum do not match is rebuilt (with a message).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import CRC32 from "crc-32";
import { writeFileAtomic } from "../util/atomic-write.js";
import { runCooperatively, runToEnd, type Interruptible } from "../util/cooperative.js";
import { createProgress } from "../util/progress.js";

/** Token ids of many sentences, concatenated. Sentence i is `ids.subarray(offsets[i], offsets[i + 1])`. */
export interface TokenizedSplit {
  /** All tokens, sentence after sentence ([CLS] ... [SEP] each, as the encoder returned them). */
  ids: Int32Array;
  /** [count + 1] start of each sentence in `ids`, then the total. */
  offsets: Int32Array;
  count: number;
}

/** Turns one sentence into token ids, special tokens added and truncated to the maximum length. */
export type EncodeFn = (text: string) => Int32Array | ArrayLike<number>;

export interface TokenizeOptions {
  /** Longest allowed encoding; a longer one is an error (the encoder is expected to truncate). */
  maxLen: number;
  /** Label of the progress bar. */
  label?: string;
  /** Show a progress bar (default true). */
  progress?: boolean;
}

export interface LoadOrBuildOptions extends TokenizeOptions {
  sentences: readonly string[];
  encode: EncodeFn;
  /** Identifies the tokenizer exactly (e.g. a hash of its tokenizer.json). */
  fingerprint: string;
  /** Folder of the cache files (created as needed). */
  cacheDir: string;
  /** Split name, part of the file name ("train", "valid"). */
  name: string;
  /** Any other setting that changes the token ids (e.g. lowercasing done outside the encoder). */
  extraKey?: string;
  /** Where messages go (a rebuilt corrupt file). Default: stderr, unless progress is false. */
  log?: (line: string) => void;
  /** Stops tokenizing (throwing its reason) once aborted; the work pauses for the event loop about every 50 ms. */
  signal?: AbortSignal;
}

export interface LoadOrBuildResult {
  split: TokenizedSplit;
  fromCache: boolean;
  path: string;
  key: string;
  /** Set when a cache file existed but was unusable and was rebuilt: why. */
  rebuiltBecause?: string;
}

const MAGIC = "MLMTOKEN";
const VERSION = 1;
const HEADER_BYTES = 64;
/** Whether this machine stores numbers little-endian (the cache files are little-endian). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Returns the tokenized split from the cache, or tokenizes it (with a progress bar) and writes the
 * cache file atomically (temporary file, then rename).
 *
 * @example
 *   import { createHash } from "node:crypto";
 *   const fingerprint = createHash("sha256").update(tokenizer.toString()).digest("hex");
 *   const { split, fromCache } = await loadOrBuildTokenized({
 *     sentences: train, encode: (s) => tokenizer.encodeIds(s), fingerprint,
 *     maxLen: 128, cacheDir: ".cache/data", name: "train",
 *   });
 *   // split.count === train.length; a second call returns fromCache: true
 */
export async function loadOrBuildTokenized(options: LoadOrBuildOptions): Promise<LoadOrBuildResult> {
  const key = tokenizedCacheKey(options.sentences, options.fingerprint, options.maxLen, options.extraKey ?? "");
  const path = join(options.cacheDir, `${safeName(options.name)}-${key.slice(0, 16)}.tok`);
  const log =
    options.log ?? (options.progress === false ? () => undefined : (line: string) => process.stderr.write(line + "\n"));
  let rebuiltBecause: string | undefined;
  let bytes: Buffer | null = null;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      rebuiltBecause = `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (bytes !== null) {
    const decoded = decodeTokenized(bytes, key);
    if (typeof decoded !== "string") return { split: decoded, fromCache: true, path, key };
    rebuiltBecause = decoded;
  }
  if (rebuiltBecause !== undefined) log(`cache file ${path} is unusable (${rebuiltBecause}); rebuilding it`);

  const split = await runCooperatively(
    tokenizeSteps(options.sentences, options.encode, {
      maxLen: options.maxLen,
      label: options.label ?? `tokenize ${options.name}`,
      progress: options.progress,
    }),
    { signal: options.signal },
  );
  try {
    await writeFileAtomic(path, encodeTokenized(split, key, options.maxLen));
  } catch (err) {
    throw new Error(`cannot write the dataset cache ${path}: ${(err as Error).message}`);
  }
  return rebuiltBecause === undefined
    ? { split, fromCache: false, path, key }
    : { split, fromCache: false, path, key, rebuiltBecause };
}

/** sha256 (hex) of everything the token ids depend on. Sentences are length-prefixed so no two lists collide. */
export function tokenizedCacheKey(
  sentences: readonly string[],
  fingerprint: string,
  maxLen: number,
  extraKey = "",
): string {
  const h = createHash("sha256");
  h.update(
    `mlm-ts tokenized v${VERSION}\0${fingerprint.length}:${fingerprint}\0maxLen=${maxLen}\0${extraKey.length}:${extraKey}\0n=${sentences.length}\0`,
  );
  for (const s of sentences) {
    h.update(`${s.length}:`);
    h.update(s);
  }
  return h.digest("hex");
}

/**
 * Encodes every sentence into one TokenizedSplit. Throws on an encoding that is empty, longer than
 * `maxLen`, or holds an id that is not a non-negative integer.
 */
export function tokenizeSentences(
  sentences: readonly string[],
  encode: EncodeFn,
  options: TokenizeOptions,
): TokenizedSplit {
  return runToEnd(tokenizeSteps(sentences, encode, options));
}

/** `tokenizeSentences` as interruptible work (util/cooperative.ts): it yields every 1024 sentences. */
export function* tokenizeSteps(
  sentences: readonly string[],
  encode: EncodeFn,
  options: TokenizeOptions,
): Interruptible<TokenizedSplit> {
  const n = sentences.length;
  const offsets = new Int32Array(n + 1);
  let ids = new Int32Array(Math.max(16, n * 12)); // grown by doubling; Tatoeba averages ~10 tokens
  let total = 0;
  const bar = createProgress({ label: options.label ?? "tokenize", total: n, silent: options.progress === false });
  const start = Date.now();
  try {
    for (let i = 0; i < n; i++) {
      const enc = encode(sentences[i]);
      const len = enc.length;
      if (len === 0 || len > options.maxLen) {
        throw new Error(
          `tokenizing sentence ${i} gave ${len} tokens; expected 1 to maxLen=${options.maxLen} ` +
            `(the encoder must add [CLS]/[SEP] and truncate): "${sentences[i].slice(0, 60)}"`,
        );
      }
      if (total + len > ids.length) {
        if (total + len > 0x7fffffff) throw new Error("tokenized split too large: over 2^31 tokens");
        const grown = new Int32Array(Math.min(0x7fffffff, Math.max(ids.length * 2, total + len)));
        grown.set(ids.subarray(0, total));
        ids = grown;
      }
      for (let j = 0; j < len; j++) {
        const id = enc[j];
        if (!(Number.isInteger(id) && id >= 0)) {
          throw new Error(
            `tokenizing sentence ${i} gave the id ${id} at position ${j}; expected a non-negative integer`,
          );
        }
        ids[total + j] = id;
      }
      total += len;
      offsets[i + 1] = total;
      if ((i & 1023) === 1023) {
        bar.update(i + 1, `${Math.round((i + 1) / Math.max(0.001, (Date.now() - start) / 1000))} sent/s`);
        yield;
      }
    }
    bar.update(n);
  } finally {
    bar.stop();
  }
  return { ids: ids.slice(0, total), offsets, count: n };
}

/** The cache file bytes of a split (see the layout at the top of this file). */
export function encodeTokenized(split: TokenizedSplit, key: string, maxLen: number): Buffer {
  const total = split.offsets[split.count];
  let maxId = 0;
  for (let i = 0; i < total; i++) if (split.ids[i] > maxId) maxId = split.ids[i]!;
  const idBytes = maxId <= 0xffff ? 2 : 4;
  const payloadBytes = 4 * (split.count + 1) + idBytes * total;
  const buf = Buffer.alloc(HEADER_BYTES + payloadBytes);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf.write(MAGIC, 0, "latin1");
  view.setUint32(8, VERSION, true);
  view.setUint32(12, idBytes, true);
  view.setUint32(16, split.count, true);
  view.setUint32(20, total, true);
  view.setUint32(24, maxLen, true);
  Buffer.from(key, "hex").copy(buf, 32);
  let at = HEADER_BYTES;
  at = putInts(view, at, split.offsets.subarray(0, split.count + 1), 4);
  putInts(view, at, split.ids.subarray(0, total), idBytes);
  view.setUint32(28, CRC32.buf(buf.subarray(HEADER_BYTES)) >>> 0, true);
  return buf;
}

/** Parses cache file bytes; returns the split, or a short reason why the file cannot be used. */
export function decodeTokenized(buf: Uint8Array, key: string): TokenizedSplit | string {
  if (buf.length < HEADER_BYTES) return `${buf.length} bytes, shorter than the header`;
  if (Buffer.from(buf.buffer, buf.byteOffset, 8).toString("latin1") !== MAGIC) return "bad magic";
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) return `format version ${version}, expected ${VERSION}`;
  const idBytes = view.getUint32(12, true);
  if (idBytes !== 2 && idBytes !== 4) return `bad id width ${idBytes}`;
  const count = view.getUint32(16, true);
  const total = view.getUint32(20, true);
  const expectedSize = HEADER_BYTES + 4 * (count + 1) + idBytes * total;
  if (buf.length !== expectedSize) return `size ${buf.length} bytes, expected ${expectedSize} (truncated?)`;
  if (Buffer.from(buf.buffer, buf.byteOffset + 32, 32).toString("hex") !== key) return "key mismatch";
  if (CRC32.buf(buf.subarray(HEADER_BYTES)) >>> 0 !== view.getUint32(28, true)) return "checksum mismatch";
  const offsets = new Int32Array(count + 1);
  const ids = new Int32Array(total);
  const at = getInts(view, HEADER_BYTES, offsets, 4);
  getInts(view, at, ids, idBytes);
  if (offsets[0] !== 0 || offsets[count] !== total) return "inconsistent offsets";
  for (let i = 0; i < count; i++) if (offsets[i + 1] < offsets[i]) return "inconsistent offsets";
  return { ids, offsets, count };
}

/** Writes integers as little-endian Int32 (width 4) or Uint16 (width 2); returns the next byte offset. */
function putInts(view: DataView, at: number, values: Int32Array, width: 2 | 4): number {
  if (LITTLE_ENDIAN_HOST && width === 4) {
    new Uint8Array(view.buffer, view.byteOffset + at, values.length * 4).set(
      new Uint8Array(values.buffer, values.byteOffset, values.length * 4),
    );
  } else if (LITTLE_ENDIAN_HOST && (view.byteOffset + at) % 2 === 0) {
    new Uint16Array(view.buffer, view.byteOffset + at, values.length).set(values); // needs 2-byte alignment
  } else {
    for (let i = 0; i < values.length; i++) {
      if (width === 4) view.setInt32(at + 4 * i, values[i], true);
      else view.setUint16(at + 2 * i, values[i], true);
    }
  }
  return at + width * values.length;
}

/** Reads little-endian Int32 or Uint16 values into `out`; returns the next byte offset. */
function getInts(view: DataView, at: number, out: Int32Array, width: number): number {
  if (LITTLE_ENDIAN_HOST && (view.byteOffset + at) % width === 0) {
    if (width === 4) out.set(new Int32Array(view.buffer, view.byteOffset + at, out.length));
    else out.set(new Uint16Array(view.buffer, view.byteOffset + at, out.length));
  } else {
    for (let i = 0; i < out.length; i++)
      out[i] = width === 4 ? view.getInt32(at + 4 * i, true) : view.getUint16(at + 2 * i, true);
  }
  return at + width * out.length;
}

function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "_");
  return s.length > 0 ? s : "split";
}
