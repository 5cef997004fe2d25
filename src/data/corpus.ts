/**
 * Reading a training corpus: the tutorial's 4-column TSV, plain text or JSON lines, streamed line by
 * line, then cleaned the tutorial's way (empty sentences and duplicates dropped, first occurrence kept).
 *
 * Formats:
 * - "tsv":   id_it <TAB> sent_it <TAB> id_en <TAB> sent_en, the English sentence in column 4; an optional
 *            header row is detected (see `isTsvHeader`). Fields are split on tabs only: no quoting, so a
 *            sentence that starts with a double quote is read as it is written.
 * - "txt":   one sentence per line.
 * - "jsonl": one JSON object per line with a string field (`textField`, "text" by default).
 * - "auto":  by extension (.tsv, .txt, .jsonl/.json/.ndjson), else from the first non-empty line.
 *
 * Reading is bounded (see util/lines.ts): a line above `maxLineBytes` or a file above `maxBytes` is an
 * error naming the file (and line); a pipe such as /dev/stdin is read like a file.
 */
import { access, open, stat } from "node:fs/promises";
import { extname } from "node:path";
import { readLines, type LineReadOptions } from "../util/lines.js";
import { DEFAULT_CONFIG } from "../config/table.js";
import { missingCorpusHint } from "./paths.js";
import { isGlob } from "./corpus-files.js";

export type CorpusFormat = "tsv" | "txt" | "jsonl";

export interface ReadCorpusOptions extends LineReadOptions {
  /** "auto" (default) detects the format from the extension, then from the content. */
  format?: CorpusFormat | "auto";
  /** JSON lines: the field that holds the sentence. Default "text". */
  textField?: string;
  /** TSV: whether the first row is a header. "auto" (default) detects it. */
  header?: "auto" | boolean;
  /** Drop repeated sentences, keeping the first (the tutorial's drop_duplicates). Default true. */
  dedupe?: boolean;
  /** `readCorpus` stops (throwing its reason) once aborted; it checks after each line. */
  signal?: AbortSignal;
}

/** What reading a corpus did, for the CLI to report. `lines = header + emptyDropped + duplicatesDropped + sentences`. */
export interface CorpusStats {
  path: string;
  format: CorpusFormat;
  /** How the format was chosen. */
  formatFrom: "option" | "extension" | "content";
  /** Lines in the file (header and blank lines included). */
  lines: number;
  headerDetected: boolean;
  /** Lines or records whose sentence is empty after trimming. */
  emptyDropped: number;
  duplicatesDropped: number;
  /** Sentences kept. */
  sentences: number;
}

/** One sentence as found in the file (not yet trimmed), with its line number. */
export interface CorpusRecord {
  lineNo: number;
  text: string;
}

/** Stats before reading: filled in as a corpus is read (`streamCorpus`, the streamed preparation). */
export function emptyStats(path: string): CorpusStats {
  return {
    path,
    format: "txt",
    formatFrom: "option",
    lines: 0,
    headerDetected: false,
    emptyDropped: 0,
    duplicatesDropped: 0,
    sentences: 0,
  };
}

/**
 * Reads a corpus into an array of unique, trimmed, non-empty sentences (in file order).
 * Malformed input throws a one-line Error naming `file:line` and what was expected.
 *
 * @example
 *   const { sentences, stats } = await readCorpus("data/it-en.tsv");
 *   console.log(describeCorpusStats(stats));
 *   // data/it-en.tsv: tsv with header, 1000 lines, 0 empty and 3 duplicate sentences dropped, 996 kept
 */
export async function readCorpus(
  path: string,
  options: ReadCorpusOptions = {},
): Promise<{ sentences: string[]; stats: CorpusStats }> {
  const dedupe = options.dedupe ?? true;
  const stats = emptyStats(path);
  const seen = new Set<string>();
  const sentences: string[] = [];
  for await (const record of streamCorpus(path, options, stats)) {
    options.signal?.throwIfAborted(); // reading awaits the file every 64 KiB: signal handlers run then
    const text = record.text.trim();
    if (text.length === 0) {
      stats.emptyDropped++;
    } else if (dedupe && seen.has(text)) {
      stats.duplicatesDropped++;
    } else {
      if (dedupe) seen.add(text);
      sentences.push(text);
    }
  }
  stats.sentences = sentences.length;
  return { sentences, stats };
}

/** Throws, naming the bundled corpora and `mlm download`, when the corpus file does not exist. */
export async function requireCorpusFile(path: string): Promise<void> {
  if (isGlob(path)) return; // its files are listed when it is read (corpus-files.ts)
  await access(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new Error(`${path}: file not found (${missingCorpusHint()})`);
  }); // other errors are reported when the file is read, with their cause
}

/**
 * The sentences of a corpus one by one, untrimmed and not deduplicated (blank lines of txt/jsonl files
 * are counted in `stats.emptyDropped` and skipped; a blank TSV line too). For corpora too big to hold.
 * `stats`, when given, is filled in as reading goes (format, lines, header).
 */
export async function* streamCorpus(
  path: string,
  options: ReadCorpusOptions = {},
  stats?: CorpusStats,
): AsyncGenerator<CorpusRecord> {
  const st: CorpusStats = stats ?? emptyStats(path);
  await requireCorpusFile(path);
  const resolved = await resolveFormat(path, options.format ?? DEFAULT_CONFIG.format);
  const parser = new CorpusRecordParser(path, resolved, options, st);
  const out: CorpusRecord[] = [];
  const emit = (lineNo: number, text: string): void => void out.push({ lineNo, text });
  for await (const { lineNo, text } of readLines(path, {
    maxLineBytes: options.maxLineBytes,
    maxBytes: options.maxBytes,
  })) {
    parser.line(lineNo, text, emit);
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  parser.end(emit);
  yield* out;
}

/**
 * The sentences of a corpus's lines, line by line and synchronously (for readers that split the
 * lines themselves, such as the streaming preparation of .gz files): the format rules of
 * `streamCorpus`, which is built on it. `resolved` null: the first non-empty line decides the format.
 *
 * @example
 *   const parser = new CorpusRecordParser("a.tsv", { format: "tsv", from: "extension" }, {}, stats);
 *   for (const [n, line] of lines.entries()) parser.line(n + 1, line, (lineNo, text) => sentences.push(text));
 *   parser.end((lineNo, text) => sentences.push(text));
 */
export class CorpusRecordParser {
  private format: CorpusFormat | null;
  private readonly textField: string;
  private readonly header: "auto" | boolean;
  /** TSV: the first row, until the header question is settled. */
  private held: { lineNo: number; fields: string[] } | null = null;
  private headerSettled: boolean;

  constructor(
    private readonly path: string,
    resolved: { format: CorpusFormat; from: CorpusStats["formatFrom"] } | null,
    options: Pick<ReadCorpusOptions, "textField" | "header">,
    private readonly st: CorpusStats,
  ) {
    // null: a pipe without a telling extension; its first non-empty line decides, as it would for a file.
    this.format = resolved?.format ?? null;
    st.path = path;
    st.format = this.format ?? "txt";
    st.formatFrom = resolved?.from ?? "content";
    this.textField = options.textField ?? DEFAULT_CONFIG.textField;
    this.header = options.header ?? "auto";
    this.headerSettled = this.format !== "tsv";
  }

  /** Reads line `lineNo`; calls `emit` with the sentences it completes (none, one, or two for a held TSV row). */
  line(lineNo: number, text: string, emit: (lineNo: number, text: string) => void): void {
    const st = this.st;
    st.lines = lineNo;
    if (this.format === null) {
      if (text.trim().length === 0) {
        st.emptyDropped++;
        return;
      }
      this.format = st.format = formatOfLine(text);
      this.headerSettled = this.format !== "tsv";
    }
    if (this.format === "txt") {
      if (text.trim().length === 0) st.emptyDropped++;
      else emit(lineNo, text);
      return;
    }
    if (text.trim().length === 0) {
      st.emptyDropped++; // pandas skips blank lines; so do we, in every format
      return;
    }
    if (this.format === "jsonl") {
      emit(lineNo, parseJsonLine(text, this.path, lineNo, this.textField));
      return;
    }
    if (!this.headerSettled && this.header === true) {
      this.headerSettled = true; // a header we were told about may have any shape
      st.headerDetected = true;
      return;
    }
    const fields = splitTsv(text, this.path, lineNo);
    if (!this.headerSettled) {
      if (this.header === false) {
        this.headerSettled = true;
      } else if (this.held === null) {
        this.held = { lineNo, fields };
        return;
      } else {
        this.headerSettled = true;
        st.headerDetected = isTsvHeader(this.held.fields, fields);
        if (!st.headerDetected) emit(this.held.lineNo, this.held.fields[3]);
        this.held = null;
      }
    }
    emit(lineNo, fields[3]);
  }

  /** After the last line: a single TSV row held back is a header only if it names the columns. */
  end(emit: (lineNo: number, text: string) => void): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.st.headerDetected = isTsvHeader(held.fields, null);
    if (!this.st.headerDetected) emit(held.lineNo, held.fields[3]);
  }
}

/**
 * Whether the first TSV row is a header: its 4th field is "sent_en" (any case), or its id columns
 * (1 and 3) are not both integers while the next row's are.
 */
export function isTsvHeader(first: string[], second: string[] | null): boolean {
  if (first[3].trim().toLowerCase() === "sent_en") return true;
  if (second === null) return false;
  const idsNumeric = (f: string[]): boolean => INTEGER.test(f[0].trim()) && INTEGER.test(f[2].trim());
  return !idsNumeric(first) && idsNumeric(second);
}

const INTEGER = /^[+-]?\d+$/;

function splitTsv(text: string, path: string, lineNo: number): string[] {
  const fields = text.split("\t");
  if (fields.length !== 4) {
    throw new Error(
      `${path}:${lineNo}: expected 4 tab-separated columns (id_it, sent_it, id_en, sent_en), found ${fields.length}`,
    );
  }
  return fields;
}

function parseJsonLine(text: string, path: string, lineNo: number, field: string): string {
  const expected = `expected a JSON object with a string field "${field}" on each line`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}:${lineNo}: ${expected}; invalid JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(
      `${path}:${lineNo}: ${expected}; found ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`,
    );
  }
  const s = (value as Record<string, unknown>)[field];
  if (typeof s !== "string") {
    throw new Error(
      `${path}:${lineNo}: ${expected}; ${s === undefined ? "the field is missing" : `the field is ${s === null ? "null" : typeof s}`}`,
    );
  }
  return s;
}

const EXTENSIONS: Record<string, CorpusFormat> = {
  ".tsv": "tsv",
  ".txt": "txt",
  ".jsonl": "jsonl",
  ".json": "jsonl",
  ".ndjson": "jsonl",
};

/**
 * Picks the format: the option, else the file extension, else a look at the first non-empty line.
 * Returns null when only the content could tell but cannot be looked at in advance (a pipe or device:
 * what is read is gone); `streamCorpus` then decides from the first non-empty line it reads.
 */
export async function resolveFormat(
  path: string,
  format: CorpusFormat | "auto",
): Promise<{ format: CorpusFormat; from: CorpusStats["formatFrom"] } | null> {
  if (format !== "auto") {
    if (format !== "tsv" && format !== "txt" && format !== "jsonl")
      throw new Error(`unknown corpus format "${String(format)}" (expected auto, tsv, txt or jsonl)`);
    return { format, from: "option" };
  }
  const byExt = EXTENSIONS[extname(path).toLowerCase()];
  if (byExt) return { format: byExt, from: "extension" };
  const info = await stat(path).catch(() => null); // a missing file is reported by the reader
  if (info !== null && !info.isFile() && !info.isDirectory()) return null;
  return { format: await sniffFormat(path), from: "content" };
}

/** The format from the option or the file name alone; null when only the content can tell. */
export function formatFromName(
  name: string,
  format: CorpusFormat | "auto",
): { format: CorpusFormat; from: CorpusStats["formatFrom"] } | null {
  if (format !== "auto") return { format, from: "option" };
  const byExt = EXTENSIONS[extname(name).toLowerCase()];
  return byExt ? { format: byExt, from: "extension" } : null;
}

/** Looks at the first non-empty line of the first 64 KiB (see `formatOfLine`). */
async function sniffFormat(path: string): Promise<CorpusFormat> {
  let head: string;
  try {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(1 << 16);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EISDIR") return "txt"; // the reader says what is wrong
    throw new Error(
      code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? (err as Error).message})`,
    );
  }
  return formatOfLine(head.split("\n").find((l) => l.trim().length > 0) ?? "");
}

/** The format a first non-empty line shows: "{" starts JSON lines, 4 tab-separated fields mean TSV, else text. */
function formatOfLine(line: string): CorpusFormat {
  const first = line.trim();
  if (first.startsWith("{")) return "jsonl";
  if (first.split("\t").length === 4) return "tsv";
  return "txt";
}

/** One line for the CLI, e.g. "it-en.tsv: tsv with header, 1000 lines, 0 empty and 3 duplicate sentences dropped, 996 kept". */
export function describeCorpusStats(stats: CorpusStats): string {
  const fmt = stats.format === "tsv" ? `tsv ${stats.headerDetected ? "with header" : "without header"}` : stats.format;
  return (
    `${stats.path}: ${fmt}, ${stats.lines} lines, ${stats.emptyDropped} empty and ` +
    `${stats.duplicatesDropped} duplicate sentences dropped, ${stats.sentences} kept`
  );
}
