/**
 * A fine-tuning run's evaluations as the studio shows them: for each validation record of its
 * metrics.jsonl, the step, loss, accuracy, macro-F1 and the confusion matrix, rebuilt from the
 * record's `confusion/<true>/<predicted>` counts in the class order of config.json's id2label.
 *
 * @example
 *   const text = '{"step":10,"split":"valid","loss":0.6,"accuracy":0.5,"macroF1":0.4,' +
 *     '"confusion/ham/ham":3,"confusion/ham/spam":1,"confusion/spam/ham":2,"confusion/spam/spam":0,"time":1}\n';
 *   classificationEvaluations(text, ["ham", "spam"]);
 *   // [{ step: 10, loss: 0.6, accuracy: 0.5, macroF1: 0.4, labels: ["ham", "spam"], matrix: [[3, 1], [2, 0]] }]
 */

export interface ClassificationEvaluation {
  step: number;
  loss: number | null;
  accuracy: number | null;
  macroF1: number | null;
  /** Class names: rows are true classes, columns predicted ones. */
  labels: string[];
  /** [true][predicted] counts. */
  matrix: number[][];
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Labels named by a record's confusion keys, in the order they first appear (when config.json has none). */
function labelsOfRecord(record: Record<string, unknown>): string[] {
  const seen = new Set<string>();
  for (const key of Object.keys(record)) {
    if (!key.startsWith("confusion/")) continue;
    const [, truth, predicted] = key.split("/");
    seen.add(truth);
    if (predicted !== undefined) seen.add(predicted);
  }
  return [...seen];
}

/** The evaluations holding a confusion matrix among complete metrics.jsonl lines `text`, in file order; bad lines are skipped. */
export function classificationEvaluations(
  text: string,
  id2label: readonly string[] | null,
): ClassificationEvaluation[] {
  const out: ClassificationEvaluation[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes('"confusion/')) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (record.split !== "valid" || typeof record.step !== "number") continue;
    const labels = id2label !== null && id2label.length > 0 ? [...id2label] : labelsOfRecord(record);
    out.push({
      step: record.step,
      loss: num(record.loss),
      accuracy: num(record.accuracy),
      macroF1: num(record.macroF1),
      labels,
      matrix: labels.map((t) => labels.map((p) => num(record[`confusion/${t}/${p}`]) ?? 0)),
    });
  }
  return out;
}
