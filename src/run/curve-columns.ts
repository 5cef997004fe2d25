/**
 * A run's curves as columns in one binary block: what the studio's server sends a page in place of
 * metrics.jsonl. Twenty runs of 10,000 steps are 30 MB of JSON lines, which a browser takes seconds to
 * receive and parse; as columns they are 6 MB, read in place. Encoded and decoded here, so the server
 * and the page share one definition:
 *
 *   [u32 LE: header length H] [H bytes: JSON header] [zero padding to a multiple of 8]
 *   [float64: each split's step column, then its time column (unix seconds), train then valid]
 *   [float32: each split's figures, in CURVE_FIGURES order, train then valid]
 *
 *   header: {"offset": N, "rows": {"train": R, "valid": S}}
 *
 * `offset` is the byte length of the metrics.jsonl lines the columns hold (complete lines only), where
 * a live stream continues. A figure missing from a record, or not finite (a diverged loss), is NaN.
 *
 * @example
 *   const bytes = encodeCurveColumns(curveColumnsOfText('{"step":1,"split":"train","loss":9.5,"time":1}\n'));
 *   decodeCurveColumns(bytes).train.figures.loss;   // Float32Array [9.5]
 */

/** The figures of each split, as the charts show them. */
export const CURVE_FIGURES = {
  train: ["loss", "lr", "gradNorm", "tokensPerSec"],
  valid: ["loss", "perplexity", "accuracy", "top5", "macroF1"],
} as const;

export type CurveSplit = keyof typeof CURVE_FIGURES;
const SPLITS: readonly CurveSplit[] = ["train", "valid"];

/** One split's records as columns. */
export interface SplitColumns<S extends CurveSplit = CurveSplit> {
  step: Float64Array;
  time: Float64Array;
  figures: Record<(typeof CURVE_FIGURES)[S][number], Float32Array>;
}

export interface CurveColumns {
  /** Bytes of metrics.jsonl the columns hold. */
  offset: number;
  train: SplitColumns<"train">;
  valid: SplitColumns<"valid">;
}

function emptySplit<S extends CurveSplit>(split: S, rows: number): SplitColumns<S> {
  const figures = Object.fromEntries(CURVE_FIGURES[split].map((f) => [f, new Float32Array(rows)]));
  return {
    step: new Float64Array(rows),
    time: new Float64Array(rows),
    figures: figures as SplitColumns<S>["figures"],
  };
}

/** The records of complete JSON lines: one parse for the whole text, line by line (skipping bad lines) if that fails. */
function parseRecords(text: string): unknown[] {
  const body = text.trim();
  if (body === "") return [];
  try {
    return JSON.parse(`[${body.replaceAll("\n", ",")}]`) as unknown[];
  } catch {
    return body.split("\n").flatMap((line) => {
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        return [];
      }
    });
  }
}

const figure = (v: unknown): number => (typeof v === "number" ? v : Number.NaN);

/**
 * The curves of metrics.jsonl text made of complete lines (`offset`: its length in bytes; default:
 * the text's UTF-8 length). Records of other kinds (warnings) and lines that are not records are left out.
 */
export function curveColumnsOfText(text: string, offset = new TextEncoder().encode(text).length): CurveColumns {
  const bySplit: Record<CurveSplit, Record<string, unknown>[]> = { train: [], valid: [] };
  for (const r of parseRecords(text)) {
    if (typeof r !== "object" || r === null) continue;
    const record = r as Record<string, unknown>;
    const split = record.split;
    if ((split === "train" || split === "valid") && typeof record.step === "number" && typeof record.time === "number")
      bySplit[split].push(record);
  }
  const fill = <S extends CurveSplit>(split: S): SplitColumns<S> => {
    const records = bySplit[split];
    const c = emptySplit(split, records.length);
    const figures = c.figures as Record<string, Float32Array>;
    records.forEach((r, i) => {
      c.step[i] = r.step as number;
      c.time[i] = r.time as number;
      for (const f of CURVE_FIGURES[split]) figures[f][i] = figure(r[f]);
    });
    return c;
  };
  return { offset, train: fill("train"), valid: fill("valid") };
}

/** The columns in block order: float64 ones first (8-byte aligned), then float32 ones. */
function columnsInOrder(c: CurveColumns): (Float64Array | Float32Array)[] {
  const wide = SPLITS.flatMap((s) => [c[s].step, c[s].time]);
  const narrow = SPLITS.flatMap((s) => CURVE_FIGURES[s].map((f) => (c[s].figures as Record<string, Float32Array>)[f]));
  return [...wide, ...narrow];
}

/** The binary block of `c` (see the file's comment). */
export function encodeCurveColumns(c: CurveColumns): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ offset: c.offset, rows: { train: c.train.step.length, valid: c.valid.step.length } }),
  );
  const start = Math.ceil((4 + header.length) / 8) * 8;
  const columns = columnsInOrder(c);
  const bytes = new Uint8Array(start + columns.reduce((n, col) => n + col.byteLength, 0));
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  let at = start;
  for (const col of columns) {
    bytes.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), at);
    at += col.byteLength;
  }
  return bytes;
}

/** The columns of a block made by `encodeCurveColumns` (views into `bytes`, or a copy when it is not 8-byte aligned); throws on a malformed block. */
export function decodeCurveColumns(bytes: Uint8Array): CurveColumns {
  const fail = (why: string): never => {
    throw new Error(`curve columns: ${why}`);
  };
  if (bytes.length < 4) fail(`${bytes.length} bytes, expected a header`);
  // The columns are viewed in place, which needs the block to start 8-byte aligned (a fetched body
  // does); anything else is copied first.
  const own = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const headerLength = new DataView(own.buffer, own.byteOffset, own.byteLength).getUint32(0, true);
  if (4 + headerLength > own.length) fail(`header of ${headerLength} bytes in a block of ${own.length}`);
  let header: { offset?: unknown; rows?: { train?: unknown; valid?: unknown } };
  try {
    header = JSON.parse(new TextDecoder().decode(own.subarray(4, 4 + headerLength))) as typeof header;
  } catch {
    return fail("the header is not JSON");
  }
  const rowsOf = (v: unknown): number =>
    typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : fail(`bad row count ${String(v)}`);
  const rows = { train: rowsOf(header.rows?.train), valid: rowsOf(header.rows?.valid) };
  const c: CurveColumns = {
    offset: typeof header.offset === "number" ? header.offset : fail("no offset"),
    train: emptySplit("train", 0),
    valid: emptySplit("valid", 0),
  };
  let at = Math.ceil((4 + headerLength) / 8) * 8;
  const take = <T extends Float64Array | Float32Array>(
    make: (at: number, n: number) => T,
    n: number,
    size: number,
  ): T => {
    if (at + n * size > own.length) fail(`${own.length} bytes, too few for ${rows.train} + ${rows.valid} rows`);
    const col = make(at, n);
    at += n * size;
    return col;
  };
  const f64 = (at: number, n: number): Float64Array => new Float64Array(own.buffer, own.byteOffset + at, n);
  const f32 = (at: number, n: number): Float32Array => new Float32Array(own.buffer, own.byteOffset + at, n);
  for (const s of SPLITS) {
    c[s].step = take(f64, rows[s], 8);
    c[s].time = take(f64, rows[s], 8);
  }
  for (const s of SPLITS)
    for (const f of CURVE_FIGURES[s]) (c[s].figures as Record<string, Float32Array>)[f] = take(f32, rows[s], 4);
  if (at !== own.length) fail(`${own.length - at} bytes left over`);
  return c;
}
