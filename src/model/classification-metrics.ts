/**
 * Classification metrics from a confusion matrix, as scikit-learn's `classification_report` and
 * `f1_score(average="macro")` compute them: per class, precision = TP / predicted, recall = TP /
 * actual, F1 their harmonic mean (0 where a denominator is 0, scikit-learn's zero_division=0);
 * accuracy = the diagonal over all; macro-F1 the unweighted mean of the classes' F1.
 */

/** One class's row of the report. */
export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

/** Every figure of one evaluation. */
export interface ClassificationReport {
  accuracy: number;
  macroF1: number;
  perClass: ClassScores[];
  /** confusion[true][predicted]: counts. */
  confusion: number[][];
  /** Examples counted. */
  examples: number;
}

/** The index of the largest of logits[o .. o+N) (the first on ties, as argmax). */
export function argmax(logits: ArrayLike<number>, o: number, N: number): number {
  let best = 0;
  for (let c = 1; c < N; c++) if (logits[o + c] > logits[o + best]) best = c;
  return best;
}

/**
 * A confusion matrix that batches add to.
 *
 * @example
 *   const m = new ConfusionMatrix(2);
 *   m.add(1, 1); m.add(0, 1); m.add(0, 0);
 *   m.report(["neg", "pos"]).accuracy   // 2/3
 */
export class ConfusionMatrix {
  /** counts[true * N + predicted] */
  private readonly counts: Float64Array;

  constructor(readonly numLabels: number) {
    this.counts = new Float64Array(numLabels * numLabels);
  }

  add(actual: number, predicted: number): void {
    const N = this.numLabels;
    if (!(actual >= 0 && actual < N && predicted >= 0 && predicted < N))
      throw new Error(`ConfusionMatrix: class ${actual} or ${predicted} outside [0, ${N})`);
    this.counts[actual * N + predicted]++;
  }

  /** Adds B rows of logits [B,N] against their labels (negative labels are skipped). */
  addLogits(logits: ArrayLike<number>, labels: ArrayLike<number>, B: number): void {
    const N = this.numLabels;
    for (let b = 0; b < B; b++) if (labels[b] >= 0) this.add(labels[b], argmax(logits, b * N, N));
  }

  report(labels: readonly string[]): ClassificationReport {
    const N = this.numLabels;
    if (labels.length !== N) throw new Error(`ConfusionMatrix.report: ${labels.length} names for ${N} classes`);
    const confusion = Array.from({ length: N }, (_, t) => Array.from(this.counts.subarray(t * N, t * N + N)));
    let total = 0;
    let correct = 0;
    const perClass: ClassScores[] = labels.map((label, c) => {
      let actual = 0;
      let predicted = 0;
      for (let k = 0; k < N; k++) {
        actual += confusion[c][k];
        predicted += confusion[k][c];
      }
      const tp = confusion[c][c];
      total += actual;
      correct += tp;
      const precision = predicted > 0 ? tp / predicted : 0;
      const recall = actual > 0 ? tp / actual : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      return { label, precision, recall, f1, support: actual };
    });
    return {
      accuracy: total > 0 ? correct / total : Number.NaN,
      macroF1: perClass.reduce((s, c) => s + c.f1, 0) / N,
      perClass,
      confusion,
      examples: total,
    };
  }
}

/** The report as text: a scikit-learn-like table, then the confusion matrix (rows: true class). */
export function formatReport(r: ClassificationReport): string {
  const width = Math.max(12, ...r.perClass.map((c) => c.label.length + 2));
  const pad = (s: string, n: number): string => s.padStart(n);
  const f = (x: number): string => pad(x.toFixed(4), 10);
  const lines = [pad("", width) + pad("precision", 10) + pad("recall", 10) + pad("f1", 10) + pad("support", 10)];
  for (const c of r.perClass)
    lines.push(pad(c.label, width) + f(c.precision) + f(c.recall) + f(c.f1) + pad(String(c.support), 10));
  lines.push("");
  lines.push(pad("accuracy", width) + pad("", 20) + f(r.accuracy) + pad(String(r.examples), 10));
  lines.push(pad("macro F1", width) + pad("", 20) + f(r.macroF1));
  lines.push("");
  lines.push("confusion matrix (rows: true class, columns: predicted)");
  const cw = Math.max(
    8,
    ...r.perClass.map((c) => c.label.length + 2),
    ...r.confusion.flat().map((n) => String(n).length + 2),
  );
  lines.push(pad("", width) + r.perClass.map((c) => pad(c.label, cw)).join(""));
  r.confusion.forEach((row, t) =>
    lines.push(pad(r.perClass[t].label, width) + row.map((n) => pad(String(n), cw)).join("")),
  );
  return lines.join("\n");
}
