/**
 * `mlm baseline`: the tutorial's TF-IDF + logistic-regression baseline on a labelled data set, on the
 * split `mlm finetune` uses (same flags, same seed), with the classifier's metrics.
 *
 *   mlm baseline data/spam-subjects.tsv
 *   mlm baseline train.tsv --valid dev.tsv --json
 */
import { parseFlags, type FieldTable } from "../config/index.js";
import { baselineText, formatReport, trainBaseline } from "../model/index.js";
import { LABELLED_DATA_OPTIONS, readLabelledSplits } from "../data/index.js";
import { commandHelp, UsageError } from "./flags.js";

const BASELINE_FLAGS = {
  ...LABELLED_DATA_OPTIONS,
  maxFeatures: { kind: "int", default: 10000, min: 1, help: "TF-IDF columns: the most frequent terms" },
  json: { kind: "boolean", default: false, help: "print every figure as JSON" },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm baseline DATA [options]

Trains TF-IDF (scikit-learn's default vectorizer, the most frequent terms) and L2 logistic
regression on the training split of DATA (.tsv, .csv or .jsonl with a text and a label column) and
reports accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix on the
validation split: what a bag of words reaches, for comparison with mlm finetune on the same split.`,
  BASELINE_FLAGS,
);

export async function baselineCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(BASELINE_FLAGS, argv, { positionals: true, command: "mlm baseline" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError(`expected one DATA file, got ${positionals.length} (see mlm baseline --help)`);
  const s = await readLabelledSplits(positionals[0], v);
  const r = trainBaseline(
    { texts: s.train.map(baselineText), labels: s.trainLabels },
    { texts: s.valid.map(baselineText), labels: s.validLabels },
    s.id2label,
    v.maxFeatures,
  );
  if (v.json) {
    write(JSON.stringify({ train: s.train.length, valid: s.valid.length, id2label: s.id2label, ...r }, null, 2) + "\n");
    return 0;
  }
  write(
    `TF-IDF (${r.features} terms) + logistic regression: ${s.train.length} training, ${s.valid.length} validation examples, ` +
      `${r.iterations} L-BFGS iterations, ${r.seconds.toFixed(1)} s\n\n${formatReport(r)}\n`,
  );
  return 0;
}
