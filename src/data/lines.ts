/**
 * Streaming line reader that checks UTF-8 strictly.
 *
 * `node:readline` decodes with replacement characters, so a Latin-1 file would turn silently into text
 * full of U+FFFD. This reader splits the raw byte stream on "\n" itself and decodes each line with a
 * fatal `TextDecoder`, so invalid bytes become an error naming the file and line. Memory stays at one
 * read chunk plus one partial line, whatever the file size.
 */
import { createReadStream } from "node:fs";

/** One line of a text file: its 1-based number and its text without the line ending ("\n" or "\r\n"). */
export interface NumberedLine {
  lineNo: number;
  text: string;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Yields the lines of a UTF-8 file one by one (a leading byte-order mark is removed).
 * Throws `Error("<file>:<line>: invalid UTF-8 ...")` on bytes that are not UTF-8.
 *
 * @example
 *   for await (const { lineNo, text } of readLines("data/tatoeba-en.txt")) console.log(lineNo, text);
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // Bytes of an unfinished line carried over from earlier chunks, joined only once its newline comes
  // (joining at every chunk would make a long line cost quadratic time).
  let pendingParts: Buffer[] = [];
  let lineNo = 0;
  const decode = (bytes: Uint8Array): NumberedLine => {
    lineNo++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(0, end));
    } catch {
      throw new Error(`${path}:${lineNo}: invalid UTF-8 (expected a UTF-8 text file)`);
    }
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark
    return { lineNo, text };
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Decode everything up to the chunk's last newline in one call (fast), keep the rest for later.
      const last = chunk.lastIndexOf(NEWLINE);
      if (last === -1) {
        pendingParts.push(Buffer.from(chunk));
        continue;
      }
      const block = pendingParts.length === 0 ? chunk.subarray(0, last) : Buffer.concat([...pendingParts, chunk.subarray(0, last)]);
      pendingParts = last + 1 < chunk.length ? [Buffer.from(chunk.subarray(last + 1))] : [];
      let text: string | null = null;
      try {
        text = decoder.decode(block);
      } catch {
        locateBadLine(block, decode); // throws with the line number
      }
      for (const line of text.split("\n")) {
        lineNo++;
        let t = line.endsWith("\r") ? line.slice(0, -1) : line;
        if (lineNo === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
        yield { lineNo, text: t };
      }
    }
  } catch (err) {
    throw rethrowIo(err, path);
  } finally {
    stream.destroy();
  }
  const rest = Buffer.concat(pendingParts);
  if (rest.length > 0) yield decode(rest);
}

/** Decodes a block line by line so that the line with invalid bytes is the one reported. */
function locateBadLine(block: Uint8Array, decode: (bytes: Uint8Array) => NumberedLine): never {
  let start = 0;
  for (;;) {
    const nl = block.indexOf(NEWLINE, start);
    decode(block.subarray(start, nl === -1 ? block.length : nl));
    if (nl === -1) break;
    start = nl + 1;
  }
  throw new Error("invalid UTF-8 in a block whose lines all decode"); // not reachable: see above
}

/** Turns "ENOENT"-style errors into one readable line; keeps our own messages as they are. */
function rethrowIo(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === "string") {
    if (e.code === "ENOENT") return new Error(`${path}: file not found`);
    if (e.code === "EISDIR") return new Error(`${path}: is a directory, expected a text file`);
    if (e.code === "EACCES") return new Error(`${path}: permission denied`);
    return new Error(`${path}: cannot read (${e.code})`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
