/**
 * Streams the lines of plain-text corpus files (one sentence per line) in large chunks.
 *
 * Each chunk is cut at its last "\n" and decoded in one call of a fatal `TextDecoder`, which is much
 * faster than decoding line by line; only when a chunk fails to decode are its lines decoded one by one
 * to name the first bad line. Memory stays at one chunk plus one partial line, whatever the file size.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/** An error about a corpus file, with a one-line message naming the file (and line when known). */
export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorpusError";
  }
}

/**
 * Calls `onLines(lines, bytesRead)` for each chunk of whole lines of `path` (line endings "\n" or
 * "\r\n" removed, a leading byte-order mark dropped). Throws a `CorpusError` when the file is missing
 * or is not UTF-8.
 *
 * @example
 *   let n = 0;
 *   forEachLineChunk("data/tatoeba-en.txt", (lines) => { n += lines.length; });
 */
export function forEachLineChunk(path: string, onLines: (lines: string[], bytesRead: number) => void): void {
  let fd: number;
  try {
    if (!statSync(path).isFile()) throw new CorpusError(`${path}: not a regular file`);
    fd = openSync(path, "r");
  } catch (err) {
    if (err instanceof CorpusError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CorpusError(
      code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? String(err)})`,
    );
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let carry = 0; // bytes of an unfinished line at the start of buf
  let lineNo = 0; // lines delivered so far
  let total = 0;
  let first = true; // the first decoded chunk may start with a byte-order mark
  try {
    for (;;) {
      if (carry === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2); // one line longer than the buffer
        buf.copy(bigger, 0, 0, carry);
        buf = bigger;
      }
      const got = readSync(fd, buf, carry, buf.length - carry, null);
      total += got;
      const end = carry + got;
      const eof = got === 0;
      let cut = eof ? end : buf.lastIndexOf(NEWLINE, end - 1);
      if (!eof && cut < 0) {
        carry = end;
        continue;
      }
      if (!eof) cut += 1; // include the newline
      if (cut > 0) {
        const bytes = buf.subarray(0, cut);
        const text = decodeChunk(decoder, bytes, path, lineNo, first);
        first = false;
        const lines = text.split("\n");
        if (lines[lines.length - 1] === "") lines.pop();
        for (let i = 0; i < lines.length; i++) {
          const l = lines[i];
          if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
        }
        lineNo += lines.length;
        onLines(lines, total);
      }
      if (eof) break;
      buf.copy(buf, 0, cut, end);
      carry = end - cut;
    }
  } finally {
    closeSync(fd);
  }
}

function decodeChunk(
  decoder: { decode(b: Uint8Array): string },
  bytes: Uint8Array,
  path: string,
  linesBefore: number,
  first: boolean,
): string {
  try {
    const s = decoder.decode(bytes);
    return first && s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  } catch {
    // Find the first bad line to name it.
    let start = 0;
    let line = linesBefore;
    while (start < bytes.length) {
      let nl = bytes.indexOf(NEWLINE, start);
      if (nl < 0) nl = bytes.length;
      line++;
      try {
        decoder.decode(bytes.subarray(start, nl));
      } catch {
        throw new CorpusError(`${path}:${line}: invalid UTF-8 (expected a UTF-8 text file, one sentence per line)`);
      }
      start = nl + 1;
    }
    throw new CorpusError(`${path}: invalid UTF-8 (expected a UTF-8 text file)`);
  }
}
