/**
 * The streaming UTF-8 line reader of the project (corpora, tokenizer training files).
 *
 * `node:readline` decodes with replacement characters, so a Latin-1 file would turn silently into text
 * full of U+FFFD. This reader splits the raw bytes on "\n" itself and decodes everything up to a
 * chunk's last newline in one call of a fatal `TextDecoder` (much faster than line by line); only when
 * that fails are the lines decoded one by one, to name the first bad line. Line endings "\n" and
 * "\r\n" are removed, and so is a byte-order mark at the start of the file. Memory stays at one read
 * chunk plus one partial line, whatever the file size; the bytes of a partial line are joined only
 * once its newline comes (joining at every chunk would make a long line cost quadratic time).
 *
 * Limits keep memory bounded whatever the input, also an endless one (a pipe, /dev/zero): a line
 * longer than `maxLineBytes` (default 1 MiB) is an error naming the file and line as soon as its bytes
 * pass the limit, without waiting for its newline; input longer than `maxBytes` (default: none) is an
 * error too, before reading when the file's size is known. A NUL byte is refused, naming its line: it
 * is never text, and a UTF-16 file (every other byte NUL) would otherwise pass as UTF-8.
 *
 * Pipes and devices (`/dev/stdin`, a FIFO) are read like files; only directories are refused.
 *
 * Front-ends over the same splitter: `lineChunks` and `forEachLineChunk` (synchronous, whole chunks
 * of lines), `readLines` (an async generator of numbered lines); `LineSplitter` itself for bytes that
 * come from elsewhere (a decompressed file).
 */
import { closeSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { open, stat } from "node:fs/promises";

/** An error about a text file, with a one-line message naming the file (and the line when known). */
export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorpusError";
  }
}

/** One line of a text file: its 1-based number and its text without the line ending. */
export interface NumberedLine {
  lineNo: number;
  text: string;
}

/** Limits of one reading; see the module comment. */
export interface LineReadOptions {
  /** Longest line accepted, in bytes (line ending excluded). Default `DEFAULT_MAX_LINE_BYTES`. */
  maxLineBytes?: number;
  /** Largest input accepted, in bytes. Default: no limit. */
  maxBytes?: number;
}

/** 1 MiB: far above any sentence, far below what would strain memory. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const NEWLINE = 0x0a;
const BYTE_ORDER_MARK = 0xfeff;
const SYNC_CHUNK_BYTES = 1 << 20;
const ASYNC_CHUNK_BYTES = 1 << 16;

/**
 * Turns byte chunks into decoded lines; see the module comment. `lineNo` is the number of the last
 * line returned.
 *
 * @example
 *   const splitter = new LineSplitter("part-0.txt.gz", {});
 *   let count = 0;
 *   for await (const block of blocks) count += splitter.push(block).length;
 *   count += splitter.end().length; // a last line without a newline
 */
export class LineSplitter {
  /** Lines delivered so far (the number of the last one). */
  lineNo = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  private pending: Uint8Array[] = [];
  /** Bytes in `pending`: the start of the line being read. */
  private pendingBytes = 0;
  /** Bytes pushed so far. */
  private total = 0;
  private readonly maxLineBytes: number;
  private readonly maxBytes: number;

  constructor(
    private readonly source: string,
    options: LineReadOptions,
  ) {
    this.maxLineBytes = checkLimit("maxLineBytes", options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.maxBytes = checkLimit("maxBytes", options.maxBytes ?? Number.MAX_SAFE_INTEGER);
  }

  /** The lines that `chunk` completes; the bytes after its last newline wait for the next chunk. */
  push(chunk: Uint8Array): string[] {
    this.total += chunk.length;
    if (this.total > this.maxBytes) throw tooLarge(this.source, `at least ${this.total}`, this.maxBytes);
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      // Checked before the bytes are kept: an endless line costs at most the limit.
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > this.maxLineBytes) this.throwTooLong(this.lineNo + 1);
      this.pending.push(new Uint8Array(chunk)); // a copy: the caller may reuse its buffer
      return [];
    }
    if (this.pendingBytes + chunk.indexOf(NEWLINE) > this.maxLineBytes) this.throwTooLong(this.lineNo + 1);
    const head = chunk.subarray(0, last);
    const block = this.pending.length === 0 ? head : Buffer.concat([...this.pending, head]);
    const tail = chunk.length - (last + 1);
    this.pending = tail > 0 ? [new Uint8Array(chunk.subarray(last + 1))] : [];
    this.pendingBytes = tail;
    const lines = this.decode(block);
    if (tail > this.maxLineBytes) this.throwTooLong(this.lineNo + 1);
    return lines;
  }

  /** The last line when the input does not end with a newline. */
  end(): string[] {
    if (this.pending.length === 0) return [];
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return rest.length === 0 ? [] : this.decode(rest);
  }

  /** Decodes whole lines (`block` holds no final newline) and numbers them. */
  private decode(block: Uint8Array): string[] {
    let text: string;
    try {
      text = this.decoder.decode(block);
    } catch {
      this.throwAtBadLine(block);
    }
    if (this.lineNo === 0 && text.charCodeAt(0) === BYTE_ORDER_MARK) text = text.slice(1);
    const nul = text.indexOf("\0");
    if (nul !== -1) {
      const line = this.lineNo + 1 + countNewlines(text, nul);
      throw new CorpusError(
        `${this.source}:${line}: NUL byte (binary data, or UTF-16 text? expected a UTF-8 text file)`,
      );
    }
    const lines = text.split("\n");
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only lines longer than a third of the limit are measured.
    const measureAbove = Math.floor(this.maxLineBytes / 3);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
      if (line.length > measureAbove && Buffer.byteLength(lines[i], "utf8") > this.maxLineBytes)
        this.throwTooLong(this.lineNo + 1 + i);
    }
    this.lineNo += lines.length;
    return lines;
  }

  private throwTooLong(line: number): never {
    throw new CorpusError(
      `${this.source}:${line}: line longer than ${this.maxLineBytes} bytes (the limit; raise it with --max-line-bytes if one sentence is really that long)`,
    );
  }

  /** Decodes `block` line by line so that the line with invalid bytes is the one reported. */
  private throwAtBadLine(block: Uint8Array): never {
    if (
      this.lineNo === 0 &&
      block.length >= 2 &&
      ((block[0] === 0xff && block[1] === 0xfe) || (block[0] === 0xfe && block[1] === 0xff))
    )
      throw new CorpusError(
        `${this.source}:1: UTF-16 text (it starts with a UTF-16 byte-order mark); expected a UTF-8 text file`,
      );
    let start = 0;
    let line = this.lineNo;
    for (;;) {
      const nl = block.indexOf(NEWLINE, start);
      const end = nl === -1 ? block.length : nl;
      line++;
      try {
        this.decoder.decode(block.subarray(start, end));
      } catch {
        throw new CorpusError(`${this.source}:${line}: invalid UTF-8 (expected a UTF-8 text file)`);
      }
      if (nl === -1) break;
      start = nl + 1;
    }
    throw new CorpusError(`${this.source}: invalid UTF-8 (expected a UTF-8 text file)`);
  }
}

/** One readable line for a file that cannot be read as a text file. */
function fileError(err: unknown, path: string): Error {
  if (err instanceof CorpusError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new CorpusError(`${path}: file not found`);
  if (code === "EISDIR") return new CorpusError(`${path}: is a directory, expected a text file`);
  if (code === "EACCES") return new CorpusError(`${path}: permission denied`);
  if (typeof code === "string") return new CorpusError(`${path}: cannot read (${code})`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Refuses a directory, and a regular file above `maxBytes` before any of it is read (the size of a
 * pipe or device is not known in advance: the splitter counts its bytes instead).
 */
function checkReadable(info: Stats, path: string, options: LineReadOptions): void {
  if (info.isDirectory()) throw new CorpusError(`${path}: is a directory, expected a text file`);
  if (info.isFile() && options.maxBytes !== undefined && info.size > options.maxBytes)
    throw tooLarge(path, String(info.size), options.maxBytes);
}

/** A limit must be a whole number of bytes >= 1 (a line limit at most `MAX_LINE_BYTES_LIMIT`). */
function checkLimit(name: "maxLineBytes" | "maxBytes", value: number): number {
  const max = name === "maxLineBytes" ? MAX_LINE_BYTES_LIMIT : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new Error(`${name} must be a whole number of bytes from 1 to ${max}, got ${value}`);
  return value;
}

/**
 * The largest line limit: a line is decoded into one string, and V8's strings stop at 2^29 - 24
 * UTF-16 units; 256 MiB of ASCII stays below that.
 */
export const MAX_LINE_BYTES_LIMIT = 1 << 28;

function tooLarge(path: string, size: string, limit: number): CorpusError {
  return new CorpusError(
    `${path}: ${size} bytes, above the limit of ${limit} bytes (raise it with --max-corpus-bytes)`,
  );
}

/** Newlines in `text` before index `end`. */
function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let at = text.indexOf("\n"); at !== -1 && at < end; at = text.indexOf("\n", at + 1)) n++;
  return n;
}

/**
 * Calls `onLines(lines, bytesRead)` for each chunk of whole lines of `path`. Throws a one-line
 * `CorpusError` when the file is missing, is not UTF-8 or passes a limit (see the module comment).
 *
 * @example
 *   let n = 0;
 *   forEachLineChunk("data/tatoeba-en.txt", (lines) => { n += lines.length; });
 */
export function forEachLineChunk(
  path: string,
  onLines: (lines: string[], bytesRead: number) => void,
  options: LineReadOptions = {},
): void {
  for (const { lines, bytesRead } of lineChunks(path, options)) onLines(lines, bytesRead);
}

/**
 * The chunks of whole lines of `path` (read synchronously, 1 MiB at a time), each with the bytes
 * read so far; a generator, so that its reader can pause between chunks. Errors as `forEachLineChunk`.
 *
 * @example
 *   for (const { lines, bytesRead } of lineChunks("data/tatoeba-en.txt")) console.log(lines.length, bytesRead);
 */
export function* lineChunks(
  path: string,
  options: LineReadOptions = {},
): Generator<{ lines: string[]; bytesRead: number }, void, undefined> {
  const splitter = new LineSplitter(path, options);
  let fd: number;
  try {
    checkReadable(statSync(path), path, options);
    fd = openSync(path, "r");
  } catch (err) {
    throw fileError(err, path);
  }
  const buf = Buffer.allocUnsafe(SYNC_CHUNK_BYTES);
  let total = 0;
  try {
    for (;;) {
      let lines: string[];
      try {
        const got = readSync(fd, buf, 0, buf.length, null);
        if (got === 0) break;
        total += got;
        lines = splitter.push(buf.subarray(0, got));
      } catch (err) {
        throw fileError(err, path);
      }
      if (lines.length > 0) yield { lines, bytesRead: total };
    }
    let rest: string[];
    try {
      rest = splitter.end();
    } catch (err) {
      throw fileError(err, path);
    }
    if (rest.length > 0) yield { lines: rest, bytesRead: total };
  } finally {
    closeSync(fd);
  }
}

/**
 * Yields the lines of a UTF-8 file one by one. Throws a one-line `CorpusError`
 * ("<file>:<line>: invalid UTF-8 ...") on bytes that are not UTF-8, when a limit is passed (see the
 * module comment), or when the file cannot be read.
 *
 * @example
 *   for await (const { lineNo, text } of readLines("data/tatoeba-en.txt")) console.log(lineNo, text);
 *   for await (const line of readLines("/dev/stdin", { maxLineBytes: 4096 })) console.log(line.text);
 */
export async function* readLines(path: string, options: LineReadOptions = {}): AsyncGenerator<NumberedLine> {
  const splitter = new LineSplitter(path, options);
  let file: Awaited<ReturnType<typeof open>>;
  try {
    checkReadable(await stat(path), path, options);
    file = await open(path, "r");
  } catch (err) {
    throw fileError(err, path);
  }
  try {
    const buf = Buffer.allocUnsafe(ASYNC_CHUNK_BYTES);
    for (;;) {
      let lines: string[];
      try {
        const { bytesRead } = await file.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        lines = splitter.push(buf.subarray(0, bytesRead));
      } catch (err) {
        throw fileError(err, path);
      }
      yield* numbered(lines, splitter.lineNo);
    }
    const rest = splitter.end();
    yield* numbered(rest, splitter.lineNo);
  } finally {
    await file.close();
  }
}

/** `lines` as numbered lines, the last one being line `lastLineNo`. */
function* numbered(lines: string[], lastLineNo: number): Generator<NumberedLine> {
  let lineNo = lastLineNo - lines.length;
  for (const text of lines) yield { lineNo: ++lineNo, text };
}
