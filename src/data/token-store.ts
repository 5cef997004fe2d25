/**
 * The on-disk token cache of a streamed corpus: one folder per corpus and settings, holding each
 * split's token ids as one flat binary file (nanoGPT's way) and each sentence's length, so training
 * reads its batches from disk with memory bounded by the number of sentences (offsets: 4 bytes a
 * sentence, 8 above 2^32 tokens), not by the corpus.
 *
 * Folder `<cacheDir>/stream-<key 16 hex>/`:
 *   train.ids, valid.ids           ids as little-endian uint16 when the vocabulary fits (<= 65536 ids), else uint32
 *   train.lengths, valid.lengths   tokens of each sentence, little-endian uint16
 *   meta.json                      version, key, id width, per split: count, tokens, largest id, longest
 *                                  sentence, CRC-32 of both files; and what the corpus pass measured
 * The folder is written under a temporary name and renamed when complete, so an interrupted
 * preparation leaves no cache; a folder whose meta.json, sizes (a truncated file) or checksums (a
 * corrupt one) do not match is rebuilt, with a message saying why.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import CRC32 from "crc-32";
import type { StoredTokens } from "./token-source.js";

export const TOKEN_CACHE_VERSION = 1;
const SPLITS = ["train", "valid"] as const;
export type SplitName = (typeof SPLITS)[number];
const BUFFER_BYTES = 1 << 20;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What meta.json records of one split. */
export interface StoredSplitMeta {
  count: number;
  tokens: number;
  maxId: number;
  maxLength: number;
  idsCrc: number;
  lengthsCrc: number;
}

/** meta.json. `corpus` is what the corpus pass measured (opaque here). */
export interface TokenCacheMeta<C = unknown> {
  version: number;
  key: string;
  idBytes: 2 | 4;
  splits: Record<SplitName, StoredSplitMeta>;
  corpus: C;
}

/** The folder of a cache key. */
export function tokenCacheDir(cacheDir: string, key: string): string {
  return join(cacheDir, `stream-${key.slice(0, 16)}`);
}

/** Appends to one file through a 1 MiB buffer, keeping a running CRC-32. */
class BufferedFile {
  private readonly fd: number;
  private readonly buf = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  crc = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  /** Reserves `n` bytes (n <= 1 MiB) and returns where to write them in `view()`. */
  reserve(n: number): number {
    if (this.used + n > this.buf.length) this.flush();
    const at = this.used;
    this.used += n;
    this.bytes += n;
    return at;
  }

  get buffer(): Uint8Array {
    return this.buf;
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.crc = CRC32.buf(chunk, this.crc);
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Writes one split: ids and lengths, sentence after sentence. */
class SplitWriter {
  private readonly ids: BufferedFile;
  private readonly lengths: BufferedFile;
  count = 0;
  tokens = 0;
  maxId = 0;
  maxLength = 0;

  constructor(
    dir: string,
    name: SplitName,
    private readonly idBytes: 2 | 4,
  ) {
    this.ids = new BufferedFile(join(dir, `${name}.ids`));
    this.lengths = new BufferedFile(join(dir, `${name}.lengths`));
  }

  /** Appends one sentence's ids (1 to 65535 of them, each below 2^(8 * idBytes)). */
  add(ids: ArrayLike<number>): void {
    const n = ids.length;
    const w = this.idBytes;
    const at = this.ids.reserve(n * w);
    const buf = this.ids.buffer;
    for (let j = 0; j < n; j++) {
      const id = ids[j];
      if (id > this.maxId) this.maxId = id;
      const p = at + j * w;
      buf[p] = id & 0xff;
      buf[p + 1] = (id >>> 8) & 0xff;
      if (w === 4) {
        buf[p + 2] = (id >>> 16) & 0xff;
        buf[p + 3] = (id >>> 24) & 0xff;
      }
    }
    const l = this.lengths.reserve(2);
    this.lengths.buffer[l] = n & 0xff;
    this.lengths.buffer[l + 1] = n >>> 8;
    if (n > this.maxLength) this.maxLength = n;
    this.count++;
    this.tokens += n;
  }

  close(): StoredSplitMeta {
    this.ids.close();
    this.lengths.close();
    return {
      count: this.count,
      tokens: this.tokens,
      maxId: this.maxId,
      maxLength: this.maxLength,
      idsCrc: this.ids.crc >>> 0,
      lengthsCrc: this.lengths.crc >>> 0,
    };
  }
}

/**
 * Writes a token cache folder: `add(side, ids)` per sentence, then `finish(corpus)` (renames the
 * folder into place) or `abort()` (removes it).
 *
 * @example
 *   const w = await TokenCacheWriter.create(".cache/mlm-ts", key, tokenizer.vocabSize);
 *   w.add("train", tokenizer.encodeIds("The cat sleeps."));
 *   await w.finish({ sentences: 1 });
 */
export class TokenCacheWriter {
  private readonly writers: Record<SplitName, SplitWriter>;

  private constructor(
    private readonly tmp: string,
    private readonly final: string,
    private readonly key: string,
    private readonly idBytes: 2 | 4,
  ) {
    this.writers = { train: new SplitWriter(tmp, "train", idBytes), valid: new SplitWriter(tmp, "valid", idBytes) };
  }

  static async create(cacheDir: string, key: string, vocabSize: number): Promise<TokenCacheWriter> {
    const final = tokenCacheDir(cacheDir, key);
    const tmp = `${final}.tmp-${process.pid}-${Date.now().toString(36)}`;
    try {
      await mkdir(tmp, { recursive: true });
    } catch (err) {
      throw new Error(`cannot write the token cache ${tmp}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    return new TokenCacheWriter(tmp, final, key, vocabSize <= 0x10000 ? 2 : 4);
  }

  /** Sentences written to `side` so far. */
  count(side: SplitName): number {
    return this.writers[side].count;
  }

  add(side: SplitName, ids: ArrayLike<number>): void {
    this.writers[side].add(ids);
  }

  /** Closes the files, writes meta.json and moves the folder into place (replacing an unusable one). */
  async finish<C>(corpus: C): Promise<TokenCacheMeta<C>> {
    const meta: TokenCacheMeta<C> = {
      version: TOKEN_CACHE_VERSION,
      key: this.key,
      idBytes: this.idBytes,
      splits: { train: this.writers.train.close(), valid: this.writers.valid.close() },
      corpus,
    };
    try {
      await writeFile(join(this.tmp, "meta.json"), JSON.stringify(meta, null, 1) + "\n");
      await rm(this.final, { recursive: true, force: true });
      await rename(this.tmp, this.final);
    } catch (err) {
      await this.abort();
      throw new Error(
        `cannot write the token cache ${this.final}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    return meta;
  }

  /** Removes the unfinished folder (an interrupted or failed preparation leaves nothing). */
  async abort(): Promise<void> {
    for (const w of Object.values(this.writers)) {
      try {
        w.close();
      } catch {
        // already closed
      }
    }
    await rm(this.tmp, { recursive: true, force: true });
  }
}

/** Closes the ids file of a split that is no longer referenced (a long-lived process opens many). */
const closeWhenCollected = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // closed already
  }
});

/** A split of the token cache, read sentence by sentence (see token-source.ts). */
export class StoredSplit implements StoredTokens {
  private readonly scratch: Uint8Array;
  private readonly scratch16: Uint16Array;
  private readonly scratch32: Int32Array;

  constructor(
    readonly path: string,
    private readonly fd: number,
    readonly idBytes: 2 | 4,
    readonly count: number,
    readonly offsets: Uint32Array | Float64Array,
    readonly maxId: number,
    readonly maxLength: number,
  ) {
    const buffer = new ArrayBuffer(4 * Math.max(1, maxLength)); // fits maxLength ids of either width
    closeWhenCollected.register(this, fd, this);
    this.scratch = new Uint8Array(buffer);
    this.scratch16 = new Uint16Array(buffer);
    this.scratch32 = new Int32Array(buffer);
  }

  readSentence(i: number, out: Int32Array, at: number): void {
    const start = this.offsets[i];
    const len = this.offsets[i + 1] - start;
    const bytes = len * this.idBytes;
    const got = readSync(this.fd, this.scratch, 0, bytes, start * this.idBytes);
    if (got !== bytes) throw new Error(`${this.path}: sentence ${i} cut short (read ${got} of ${bytes} bytes)`);
    if (LITTLE_ENDIAN_HOST) {
      const src = this.idBytes === 2 ? this.scratch16 : this.scratch32;
      for (let j = 0; j < len; j++) out[at + j] = src[j];
    } else {
      const s = this.scratch;
      for (let j = 0; j < len; j++) {
        const p = j * this.idBytes;
        out[at + j] =
          this.idBytes === 2 ? s[p] | (s[p + 1] << 8) : s[p] | (s[p + 1] << 8) | (s[p + 2] << 16) | (s[p + 3] << 24);
      }
    }
  }

  /** Closes the ids file (reading afterwards fails). */
  close(): void {
    closeWhenCollected.unregister(this);
    closeSync(this.fd);
  }
}

/** An opened token cache: both splits and its meta.json. */
export interface OpenedTokenCache<C> {
  dir: string;
  meta: TokenCacheMeta<C>;
  train: StoredSplit;
  valid: StoredSplit;
}

/**
 * Opens and verifies the cache folder of `key`: null when there is none; `{ unusable: why }` when it
 * cannot be used (then it should be rebuilt). Verifying reads every byte once (CRC-32), in 1 MiB blocks.
 */
export async function openTokenCache<C>(
  cacheDir: string,
  key: string,
): Promise<OpenedTokenCache<C> | { unusable: string } | null> {
  const dir = tokenCacheDir(cacheDir, key);
  let text: string;
  try {
    text = await readFile(join(dir, "meta.json"), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      const folder = await stat(dir).catch(() => null);
      return folder === null ? null : { unusable: "meta.json is missing" };
    }
    return { unusable: `cannot read meta.json (${code ?? String(err)})` };
  }
  let meta: TokenCacheMeta<C>;
  try {
    meta = JSON.parse(text) as TokenCacheMeta<C>;
  } catch {
    return { unusable: "meta.json is not valid JSON" };
  }
  if (meta.version !== TOKEN_CACHE_VERSION)
    return { unusable: `version ${meta.version}, expected ${TOKEN_CACHE_VERSION}` };
  if (meta.key !== key) return { unusable: "key mismatch" };
  if (meta.idBytes !== 2 && meta.idBytes !== 4) return { unusable: `bad id width ${meta.idBytes}` };
  const opened: Partial<Record<SplitName, StoredSplit>> = {};
  for (const name of SPLITS) {
    const split = await openSplit(dir, name, meta.idBytes, meta.splits?.[name]);
    if (typeof split === "string") {
      for (const s of Object.values(opened)) s.close();
      return { unusable: `${name}: ${split}` };
    }
    opened[name] = split;
  }
  return { dir, meta, train: opened.train!, valid: opened.valid! };
}

/** One split, verified: sizes, checksums, lengths against the recorded ones. */
async function openSplit(
  dir: string,
  name: SplitName,
  idBytes: 2 | 4,
  m: StoredSplitMeta | undefined,
): Promise<StoredSplit | string> {
  if (m === undefined || !Number.isSafeInteger(m.count) || !Number.isSafeInteger(m.tokens))
    return "no record in meta.json";
  const lengthsPath = join(dir, `${name}.lengths`);
  const idsPath = join(dir, `${name}.ids`);
  const offsets = m.tokens < 2 ** 32 ? new Uint32Array(m.count + 1) : new Float64Array(m.count + 1);
  let total = 0;
  let longest = 0;
  let filled = 0;
  const lengthsCheck = await scanFile(lengthsPath, 2 * m.count, (block) => {
    for (let k = 0; k + 1 < block.length; k += 2) {
      const len = block[k] | (block[k + 1] << 8);
      if (len > longest) longest = len;
      total += len;
      offsets[++filled] = total;
    }
  });
  if (typeof lengthsCheck === "string") return `${name}.lengths: ${lengthsCheck}`;
  if (lengthsCheck !== m.lengthsCrc) return `${name}.lengths: checksum mismatch (corrupt)`;
  if (total !== m.tokens || longest !== m.maxLength) return `${name}.lengths: do not add up to the recorded tokens`;
  const idsCheck = await scanFile(idsPath, idBytes * m.tokens, () => undefined);
  if (typeof idsCheck === "string") return `${name}.ids: ${idsCheck}`;
  if (idsCheck !== m.idsCrc) return `${name}.ids: checksum mismatch (corrupt)`;
  let fd: number;
  try {
    fd = openSync(idsPath, "r");
  } catch (err) {
    return `${name}.ids: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return new StoredSplit(idsPath, fd, idBytes, m.count, offsets, m.maxId, m.maxLength);
}

/** Reads a file of `expectedBytes` in 1 MiB blocks; returns its CRC-32, or why it is unusable. */
async function scanFile(
  path: string,
  expectedBytes: number,
  onBlock: (block: Uint8Array) => void,
): Promise<number | string> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    return `cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  try {
    const size = (await fh.stat()).size;
    if (size !== expectedBytes) return `${size} bytes, expected ${expectedBytes} (truncated?)`;
    const block = new Uint8Array(BUFFER_BYTES);
    let crc = 0;
    for (let at = 0; at < size;) {
      const { bytesRead } = await fh.read(block, 0, Math.min(block.length, size - at), at);
      if (bytesRead === 0) return `ends at byte ${at}, expected ${size}`;
      const got = block.subarray(0, bytesRead);
      crc = CRC32.buf(got, crc);
      onBlock(got);
      at += bytesRead;
    }
    return crc >>> 0;
  } finally {
    await fh.close();
  }
}
