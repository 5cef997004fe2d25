/**
 * The bytes of one corpus file, read in 64 KiB blocks and decompressed on the fly when the file is
 * gzip (found by its first two bytes, 1f 8b, whatever its name): memory stays at a few blocks for a
 * file of any size. While reading, the raw bytes are hashed (SHA-256, the file's fingerprint, so no
 * second pass is needed) and counted (for the progress bar).
 *
 * Damaged gzip data is a one-line error naming the file and the compressed bytes where it was found
 * ("corpus/part-3.txt.gz: corrupt gzip data in bytes 131072-196607 (invalid block type)"). Deflate
 * data often decodes even when damaged; then only the member's checksum at its end tells, and the
 * error names that byte. A file cut short says so with its size.
 */
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

/** Size of one raw read of a gzip file; a damaged gzip block is located within one such block. */
export const READ_BLOCK_BYTES = 1 << 16;
/** Size of one raw read of a plain file (fewer, larger reads: the reading costs less than the awaits). */
const PLAIN_BLOCK_BYTES = 1 << 20;

/** What reading a file measured. */
export interface FileReadStats {
  /** Raw (compressed) bytes read so far. */
  rawBytes: number;
  gzip: boolean;
  /** SHA-256 of the raw bytes, once the file has been read to the end. */
  sha256: string | null;
}

/**
 * The decompressed bytes of `path`, block by block. `onRaw(n)` is called after each raw block of n
 * bytes (progress). `stats` is filled in as reading goes; `stats.sha256` is set at the end.
 *
 * @example
 *   const stats: FileReadStats = { rawBytes: 0, gzip: false, sha256: null };
 *   let text = 0;
 *   for await (const block of corpusBytes("corpus/part-0.txt.gz", stats)) text += block.length;
 *   // stats.sha256: the file's SHA-256, as `sha256sum` prints it
 */
export async function* corpusBytes(
  path: string,
  stats: FileReadStats = { rawBytes: 0, gzip: false, sha256: null },
  onRaw?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  const blockBytes = { size: READ_BLOCK_BYTES };
  const raw = rawBlocks(path, hash, stats, blockBytes, onRaw);
  const first = await raw.next();
  if (first.done) {
    stats.sha256 = hash.digest("hex");
    return;
  }
  stats.gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  if (!stats.gzip) {
    blockBytes.size = PLAIN_BLOCK_BYTES;
    yield first.value;
    for await (const block of raw) yield block;
    stats.sha256 = hash.digest("hex");
    return;
  }
  const gunzip = createGunzip({ chunkSize: READ_BLOCK_BYTES });
  const source = Readable.from(prepend(first.value, raw), { objectMode: false });
  let sourceError: Error | null = null;
  source.on("error", (err) => {
    sourceError = err;
    gunzip.destroy(err);
  });
  source.pipe(gunzip);
  try {
    for await (const block of gunzip) yield block as Buffer;
  } catch (err) {
    if (sourceError !== null) throw sourceError; // a read error, already named
    throw gzipError(path, err as NodeJS.ErrnoException, gunzip.bytesWritten, stats.rawBytes);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  stats.sha256 = hash.digest("hex");
}

async function* prepend(first: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  yield* rest;
}

/** The raw blocks of a file (or pipe), hashed and counted. */
async function* rawBlocks(
  path: string,
  hash: Hash,
  stats: FileReadStats,
  blockBytes: { size: number },
  onRaw?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? String(err)})`);
  }
  try {
    for (;;) {
      const block = new Uint8Array(blockBytes.size); // a new one each time: the consumer may keep it
      let n: number;
      try {
        n = (await fh.read(block, 0, block.length, null)).bytesRead;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(`${path}: cannot read at byte ${stats.rawBytes} (${code ?? String(err)})`);
      }
      if (n === 0) return;
      const bytes = n === block.length ? block : block.subarray(0, n);
      hash.update(bytes);
      stats.rawBytes += n;
      onRaw?.(n);
      yield bytes;
    }
  } finally {
    await fh.close();
  }
}

/** A one-line error for damaged gzip data: the file and the compressed bytes where zlib failed. */
function gzipError(path: string, err: NodeJS.ErrnoException, consumed: number, rawBytes: number): Error {
  if (err.code === "Z_BUF_ERROR" || /unexpected end/i.test(err.message))
    return new Error(
      `${path}: gzip data ends before its end marker at byte ${rawBytes} (a truncated file? expected a whole .gz file)`,
    );
  if (/incorrect (data|length) check/.test(err.message))
    return new Error(
      `${path}: gzip data fails its checksum (${err.message}): damaged somewhere before byte ${rawBytes}, in the gzip member ending there; expected a valid .gz file`,
    );
  // zlib counts the bytes handed to it, not the byte it failed at: the damage lies between the start
  // of the block it was given last and the last byte read (a block or two further).
  const start = Math.floor(Math.max(0, consumed - 1) / READ_BLOCK_BYTES) * READ_BLOCK_BYTES;
  const end = Math.max(start + 1, rawBytes);
  return new Error(
    `${path}: corrupt gzip data in bytes ${start}-${end - 1} (${err.message}); expected a valid .gz file`,
  );
}
