/**
 * Reading a labelled data set for classification: `.tsv`, `.csv` or `.jsonl`, one example per row,
 * with a text column, a label column and, for sentence pairs, a second text column.
 *
 * - `.csv`: RFC 4180 (quoted fields may hold commas, quotes and line breaks), a header row naming the
 *   columns; parsed by npm `csv-parse`.
 * - `.tsv`: tab-separated with a header row, no quoting (as GLUE's SST-2 files, whose sentences hold
 *   bare double quotes): a field is what lies between two tabs.
 * - `.jsonl`: one JSON object per line; its keys are the columns.
 *
 * Columns default to the names GLUE and Hugging Face datasets use: the text in `sentence` or `text`,
 * the label in `label`. Labels are strings or integers (an integer label is kept as its decimal
 * string). Each bad input is one line naming the file, the line and the column: a missing column
 * names the columns found, an empty text or label names its line.
 *
 * `readLabelled` reads a file by its path (Node); `parseLabelled` reads the same from its bytes or
 * text already in memory (a browser tab's dropped file), and `labelledFromMemory` makes such files a
 * reader that the commands reading labelled data take instead of the file system.
 */
import { readFile, stat } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { platform } from "../platform/index.js";
import { CorpusError } from "../util/lines.js";

export type LabelledFormat = "tsv" | "csv" | "jsonl";

/** Columns tried for the text when none is named, in order. */
export const DEFAULT_TEXT_COLUMNS = ["sentence", "text"] as const;
/** The label column when none is named. */
export const DEFAULT_LABEL_COLUMN = "label";
/** The largest labelled file read (it is held in memory as text): 1 GiB. */
export const MAX_LABELLED_BYTES = 1 << 30;

export interface LabelledColumns {
  /** The text column; default: the first of `sentence`, `text` that the file has. */
  textColumn?: string;
  /** A second text column (sentence pairs, encoded `[CLS] a [SEP] b [SEP]`); default none. */
  textPairColumn?: string;
  /** The label column; default `label`; null: no labels (texts to classify or embed; each label ""). */
  labelColumn?: string | null;
}

/** One example: its text(s), its label as written (integers as decimal strings) and its line. */
export interface LabelledExample {
  text: string;
  textPair?: string;
  label: string;
  /** 1-based line of the file where the example ends. */
  line: number;
}

/** A labelled file as read: the columns found and used, and every example in file order. */
export interface LabelledFile {
  path: string;
  format: LabelledFormat;
  /** Every column the file has (the header row, or the first JSON object's keys). */
  columns: string[];
  textColumn: string;
  textPairColumn: string | null;
  /** "" when labels were not read. */
  labelColumn: string;
  examples: LabelledExample[];
}

/** The format of `path` from its extension; an error naming the file otherwise. */
export function labelledFormatOf(path: string): LabelledFormat {
  const name = platform().storage.path.basename(path);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot).toLowerCase() : ""; // node:path's extname, which a browser lacks
  if (ext === ".tsv") return "tsv";
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new CorpusError(`${path}: a labelled data set is .tsv, .csv or .jsonl, got "${ext || "no extension"}"`);
}

/**
 * Reads every example of a labelled file.
 *
 * @example
 *   const file = await readLabelled("data/spam-subjects.tsv");
 *   // file.textColumn === "text", file.labelColumn === "label", file.examples[0] = { text, label, line: 2 }
 */
export async function readLabelled(path: string, columns: LabelledColumns = {}): Promise<LabelledFile> {
  labelledFormatOf(path); // an unknown extension is refused before the file is read
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CorpusError(`${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (size > MAX_LABELLED_BYTES)
    throw new CorpusError(`${path}: ${size} bytes, more than the ${MAX_LABELLED_BYTES} read`);
  return parseLabelled(path, await readFile(path), columns);
}

/**
 * Reads every example of a labelled file held in memory, as `readLabelled` reads it from disk; `path`
 * names the file in messages and gives its format by its extension. Bytes must be UTF-8.
 *
 * @example
 *   const file = parseLabelled("mine.csv", 'text,label\n"Hi, you",ham\n');
 *   // file.examples[0] = { text: "Hi, you", label: "ham", line: 2 }
 */
export function parseLabelled(path: string, data: string | Uint8Array, columns: LabelledColumns = {}): LabelledFile {
  const format = labelledFormatOf(path);
  if (typeof data !== "string" && data.length > MAX_LABELLED_BYTES)
    throw new CorpusError(`${path}: ${data.length} bytes, more than the ${MAX_LABELLED_BYTES} read`);
  let text: string;
  try {
    text = typeof data === "string" ? data : new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch (err) {
    throw new CorpusError(`${path}: not UTF-8 text (${(err as Error).message})`);
  }
  const rows = format === "jsonl" ? jsonRows(path, text) : delimitedRows(path, text, format);
  return pickColumns(path, format, rows, columns);
}

/** How a command reads a labelled file by its name: `readLabelled` (the file system) or from memory. */
export type LabelledReader = (path: string, columns: LabelledColumns) => Promise<LabelledFile>;

/**
 * A reader of labelled files already in memory, by name (a browser tab's dropped files); a name not
 * among them is an error naming the ones there are.
 *
 * @example
 *   const read = labelledFromMemory({ "mine.tsv": "text\tlabel\nhello\tham\n" });
 *   const file = await read("mine.tsv", {});
 */
export function labelledFromMemory(files: Readonly<Record<string, string | Uint8Array>>): LabelledReader {
  return async (path, columns) => {
    if (!Object.hasOwn(files, path))
      throw new CorpusError(
        `${path}: not among the labelled files given (${Object.keys(files)
          .map((n) => `"${n}"`)
          .join(", ")})`,
      );
    return parseLabelled(path, files[path], columns);
  };
}

/** Rows as column → value, each with its line, and the columns found. */
interface Rows {
  columns: string[];
  records: { line: number; values: Record<string, unknown> }[];
}

function delimitedRows(path: string, text: string, format: "tsv" | "csv"): Rows {
  let parsed: { record: Record<string, string>; info: { lines: number } }[];
  let header: string[] = [];
  try {
    parsed = parse<{ record: Record<string, string>; info: { lines: number } }>(text, {
      bom: true,
      columns: (names: string[]) => (header = names.map((n) => n.trim())),
      delimiter: format === "tsv" ? "\t" : ",",
      quote: format === "tsv" ? false : '"',
      info: true,
      skip_empty_lines: true,
    });
  } catch (err) {
    throw new CorpusError(`${path}: ${(err as Error).message}`);
  }
  if (header.length === 0) throw new CorpusError(`${path}: empty file (expected a header row naming the columns)`);
  return { columns: header, records: parsed.map((p) => ({ line: p.info.lines, values: p.record })) };
}

function jsonRows(path: string, text: string): Rows {
  const records: Rows["records"] = [];
  let columns: string[] | null = null;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new CorpusError(`${path} line ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new CorpusError(
        `${path} line ${i + 1}: expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`,
      );
    columns ??= Object.keys(value);
    records.push({ line: i + 1, values: value as Record<string, unknown> });
  });
  if (columns === null) throw new CorpusError(`${path}: empty file (expected one JSON object per line)`);
  return { columns, records };
}

/** The column `wanted` (or the first default the file has); an error naming the columns found. */
function resolveColumn(
  path: string,
  found: string[],
  wanted: string | undefined,
  defaults: readonly string[],
  role: string,
  flag: string,
): string {
  const candidates = wanted === undefined ? defaults : [wanted];
  const hit = candidates.find((c) => found.includes(c));
  if (hit !== undefined) return hit;
  const asked = candidates.map((c) => `"${c}"`).join(" or ");
  throw new CorpusError(
    `${path}: no ${role} column ${asked}; the columns are ${found.map((c) => `"${c}"`).join(", ")} (name it with ${flag})`,
  );
}

function pickColumns(path: string, format: LabelledFormat, rows: Rows, wanted: LabelledColumns): LabelledFile {
  const { columns } = rows;
  const textColumn = resolveColumn(path, columns, wanted.textColumn, DEFAULT_TEXT_COLUMNS, "text", "--text-column");
  const labelColumn =
    wanted.labelColumn === null
      ? ""
      : resolveColumn(path, columns, wanted.labelColumn, [DEFAULT_LABEL_COLUMN], "label", "--label-column");
  const textPairColumn =
    wanted.textPairColumn === undefined
      ? null
      : resolveColumn(path, columns, wanted.textPairColumn, [], "second text", "--text-pair-column");
  const examples: LabelledExample[] = [];
  for (const { line, values } of rows.records) {
    const where = `${path} line ${line}`;
    const text = textField(where, values, textColumn);
    const label = labelColumn === "" ? "" : labelField(where, values, labelColumn);
    const example: LabelledExample = { text, label, line };
    if (textPairColumn !== null) example.textPair = textField(where, values, textPairColumn);
    examples.push(example);
  }
  if (examples.length === 0) throw new CorpusError(`${path}: no examples (only a header)`);
  return { path, format, columns, textColumn, textPairColumn, labelColumn, examples };
}

function textField(where: string, values: Record<string, unknown>, column: string): string {
  const v = values[column];
  if (v === undefined) throw new CorpusError(`${where}: no column "${column}" in this row`);
  if (typeof v !== "string")
    throw new CorpusError(`${where}: column "${column}" holds ${JSON.stringify(v)}, expected text`);
  if (v.trim() === "") throw new CorpusError(`${where}: column "${column}" is empty`);
  return v;
}

function labelField(where: string, values: Record<string, unknown>, column: string): string {
  const v = values[column];
  if (v === undefined) throw new CorpusError(`${where}: no column "${column}" in this row`);
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  if (typeof v !== "string")
    throw new CorpusError(
      `${where}: label column "${column}" holds ${JSON.stringify(v)}, expected a string or an integer`,
    );
  const label = v.trim();
  if (label === "") throw new CorpusError(`${where}: label column "${column}" is empty`);
  return label;
}

/**
 * The label names in class-id order: integers in numeric order when every label is an integer (GLUE's
 * 0 and 1), else strings in code-point order. At least two classes, else an error naming the file.
 */
export function labelNames(file: Pick<LabelledFile, "path" | "examples" | "labelColumn">): string[] {
  const names = [...new Set(file.examples.map((e) => e.label))];
  if (names.length < 2)
    throw new CorpusError(
      `${file.path}: every example has the label "${names[0]}" in column "${file.labelColumn}"; a classifier needs at least 2 classes`,
    );
  const integers = names.every((n) => /^-?\d+$/.test(n));
  return integers ? names.sort((a, b) => Number(a) - Number(b)) : names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Each example's class id under `id2label`; an example whose label is not among them (a label at
 * evaluation that training never saw) is an error naming its file and line.
 */
export function labelIds(
  file: Pick<LabelledFile, "path" | "examples" | "labelColumn">,
  id2label: readonly string[],
): Int32Array {
  const ids = new Map(id2label.map((name, i) => [name, i]));
  return Int32Array.from(file.examples, (e) => {
    const id = ids.get(e.label);
    if (id === undefined)
      throw new CorpusError(
        `${file.path} line ${e.line}: label "${e.label}" was never seen in training (its labels: ${id2label.map((l) => `"${l}"`).join(", ")})`,
      );
    return id;
  });
}
