// Each run's curves, as columns ready for the charts: first the server's columns of what a run's
// metrics.jsonl held, then the lines that stream in (made columns by the same parser, src/run/curve-columns.ts).

import {
  CURVE_FIGURES,
  curveColumnsOfText,
  type CurveColumns,
  type SplitColumns,
} from "../../src/run/curve-columns.js";

/** The figures a chart can show, by where they come from in metrics.jsonl. */
export const TRAIN_FIELDS = CURVE_FIGURES.train;
export const VALID_FIELDS = CURVE_FIGURES.valid;

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

/** Appends a split's columns to the charts' arrays: times from the run's first record, non-finite figures as gaps. */
function append<F extends string>(
  c: Columns<F>,
  fields: readonly F[],
  from: Pick<SplitColumns, "step" | "time"> & { figures: Readonly<Record<F, Float32Array>> },
  start: number,
): void {
  // Plain loops that push (packed arrays, which the charts walk fastest); Array.from's callback per
  // element costs several times more here.
  const n = from.step.length;
  for (let i = 0; i < n; i++) {
    c.step.push(from.step[i]);
    c.time.push(from.time[i] - start);
  }
  for (const f of fields) {
    const src = from.figures[f];
    const out = c.values[f];
    for (let i = 0; i < n; i++) out.push(Number.isFinite(src[i]) ? src[i] : null);
  }
}

/** Adds a block of columns (the server's /curves answer, or streamed lines made columns) to `curves`; returns whether it held rows. */
export function addColumns(curves: RunCurves, columns: CurveColumns): boolean {
  const firsts = [columns.train.time[0], columns.valid.time[0]].filter((t) => t !== undefined);
  if (firsts.length === 0) return false;
  curves.start ??= Math.min(...firsts);
  append(curves.train, TRAIN_FIELDS, columns.train, curves.start);
  append(curves.valid, VALID_FIELDS, columns.valid, curves.start);
  return true;
}

/** Adds the records of a block of metrics.jsonl lines (text, as the stream sends them); returns whether any was added. */
export function addLines(curves: RunCurves, text: string): boolean {
  return addColumns(curves, curveColumnsOfText(text, 0));
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
