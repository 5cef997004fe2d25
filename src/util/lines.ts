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
 * Front-ends over the same splitter: `lineChunks` and `forEachLineChunk` (synchronous, whole chunks
 * of lines) and `readLines` (an async generator of numbered lines).
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
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

const NEWLINE = 0x0a;
const BYTE_ORDER_MARK = 0xfeff;
const SYNC_CHUNK_BYTES = 1 << 20;
const ASYNC_CHUNK_BYTES = 1 << 16;

/** Turns byte chunks into decoded lines; see the module comment. */
class LineSplitter {
  /** Lines delivered so far (the number of the last one). */
  lineNo = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  private pending: Uint8Array[] = [];

  constructor(private readonly source: string) {}

  /** The lines that `chunk` completes; the bytes after its last newline wait for the next chunk. */
  push(chunk: Uint8Array): string[] {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.pending.push(new Uint8Array(chunk)); // a copy: the caller may reuse its buffer
      return [];
    }
    const head = chunk.subarray(0, last);
    const block = this.pending.length === 0 ? head : Buffer.concat([...this.pending, head]);
    this.pending = last + 1 < chunk.length ? [new Uint8Array(chunk.subarray(last + 1))] : [];
    return this.decode(block);
  }

  /** The last line when the input does not end with a newline. */
  end(): string[] {
    if (this.pending.length === 0) return [];
    const rest = Buffer.concat(this.pending);
    this.pending = [];
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
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
    }
    this.lineNo += lines.length;
    return lines;
  }

  /** Decodes `block` line by line so that the line with invalid bytes is the one reported. */
  private throwAtBadLine(block: Uint8Array): never {
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

function checkIsFile(isFile: boolean, isDirectory: boolean, path: string): void {
  if (isDirectory) throw new CorpusError(`${path}: is a directory, expected a text file`);
  if (!isFile) throw new CorpusError(`${path}: not a regular file`);
}

/**
 * Calls `onLines(lines, bytesRead)` for each chunk of whole lines of `path`. Throws a one-line
 * `CorpusError` when the file is missing or is not UTF-8.
 *
 * @example
 *   let n = 0;
 *   forEachLineChunk("data/tatoeba-en.txt", (lines) => { n += lines.length; });
 */
export function forEachLineChunk(path: string, onLines: (lines: string[], bytesRead: number) => void): void {
  for (const { lines, bytesRead } of lineChunks(path)) onLines(lines, bytesRead);
}

/**
 * The chunks of whole lines of `path` (read synchronously, 1 MiB at a time), each with the bytes
 * read so far; a generator, so that its reader can pause between chunks. Errors as `forEachLineChunk`.
 *
 * @example
 *   for (const { lines, bytesRead } of lineChunks("data/tatoeba-en.txt")) console.log(lines.length, bytesRead);
 */
export function* lineChunks(path: string): Generator<{ lines: string[]; bytesRead: number }, void, undefined> {
  let fd: number;
  try {
    const info = statSync(path);
    checkIsFile(info.isFile(), info.isDirectory(), path);
    fd = openSync(path, "r");
  } catch (err) {
    throw fileError(err, path);
  }
  const splitter = new LineSplitter(path);
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
 * ("<file>:<line>: invalid UTF-8 ...") on bytes that are not UTF-8, or when the file cannot be read.
 *
 * @example
 *   for await (const { lineNo, text } of readLines("data/tatoeba-en.txt")) console.log(lineNo, text);
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  const splitter = new LineSplitter(path);
  let file: Awaited<ReturnType<typeof open>>;
  try {
    const info = await stat(path);
    checkIsFile(info.isFile(), info.isDirectory(), path);
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
