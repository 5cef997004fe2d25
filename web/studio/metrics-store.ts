// Each run's curves, as columns ready for the charts, filled from metrics.jsonl lines as they stream in.

/** The figures a chart can show, by where they come from in metrics.jsonl. */
export const TRAIN_FIELDS = ["loss", "lr", "gradNorm", "tokensPerSec"] as const;
export const VALID_FIELDS = ["loss", "perplexity", "accuracy", "top5"] as const;

export interface Columns<F extends string> {
  step: number[];
  /** Seconds since the run's first record. */
  time: number[];
  values: Record<F, (number | null)[]>;
}

export interface RunCurves {
  train: Columns<(typeof TRAIN_FIELDS)[number]>;
  valid: Columns<(typeof VALID_FIELDS)[number]>;
  start: number | null;
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

function columns<F extends string>(fields: readonly F[]): Columns<F> {
  return {
    step: [],
    time: [],
    values: Object.fromEntries(fields.map((f) => [f, []])) as unknown as Record<F, (number | null)[]>,
  };
}

export const emptyCurves = (): RunCurves => ({
  train: columns(TRAIN_FIELDS),
  valid: columns(VALID_FIELDS),
  start: null,
});

/** A logged value as a number for the chart: NaN and infinities (written as strings) become gaps. */
function value(v: unknown): number | null {
  const n = typeof v === "string" ? NON_FINITE[v] : v;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

function push<F extends string>(
  c: Columns<F>,
  fields: readonly F[],
  record: Record<string, unknown>,
  time: number,
): void {
  c.step.push(record.step as number);
  c.time.push(time);
  for (const f of fields) c.values[f].push(value(record[f]));
}

/** The records of a block of lines: one parse for the whole block (a replay is thousands of lines), line by line if it fails. */
function parseBlock(lines: string[]): unknown[] {
  try {
    return JSON.parse(`[${lines.join(",")}]`) as unknown[];
  } catch {
    // The server sends complete lines; a corrupt one is skipped rather than stopping the stream.
    return lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        return [];
      }
    });
  }
}

/** Adds the records of a block of metrics.jsonl lines to `curves`; returns whether any was added. */
export function addLines(curves: RunCurves, lines: string[]): boolean {
  let added = false;
  for (const parsed of parseBlock(lines)) {
    const record = parsed as Record<string, unknown>;
    if (
      typeof record !== "object" ||
      record === null ||
      typeof record.step !== "number" ||
      typeof record.time !== "number"
    )
      continue;
    curves.start ??= record.time;
    const time = record.time - curves.start;
    if (record.split === "train") push(curves.train, TRAIN_FIELDS, record, time);
    else if (record.split === "valid") push(curves.valid, VALID_FIELDS, record, time);
    else continue;
    added = true;
  }
  return added;
}

/** TensorBoard's smoothing: an exponential moving average, debiased at the start; gaps stay gaps. */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}
