/**
 * A classifier scored on a labelled file: every example's label must be one of the classifier's
 * (id2label); the result is the loss and the report of model/classification-metrics.ts.
 */
import {
  encodeLabelled,
  LabelledLoader,
  labelIds,
  readLabelled,
  requireToken,
  type LabelledColumns,
} from "../data/index.js";
import { evaluateClassifier, type ClassifierMetrics } from "../model/index.js";
import type { LoadedClassifier } from "./load-model.js";

/**
 * @example
 *   const loaded = await loadModel("runs/spam", { task: "text-classification" });
 *   const m = await evaluateLabelled(loaded, "data/spam-subjects.tsv");   // m.accuracy, m.macroF1, m.confusion
 */
export async function evaluateLabelled(
  loaded: LoadedClassifier,
  path: string,
  columns: LabelledColumns = {},
  options: { progress?: boolean; signal?: AbortSignal } = {},
): Promise<ClassifierMetrics & { truncated: number }> {
  const file = await readLabelled(path, columns);
  const { id2label } = loaded.classifier;
  const labels = labelIds(file, id2label);
  const maxLen = loaded.modelConfig.maxLen;
  const split = encodeLabelled(loaded.tokenizer, file.examples, labels, maxLen);
  const loader = new LabelledLoader(split, {
    batchSize: loaded.maxBatch,
    maxLen,
    padId: requireToken(loaded.tokenizer, "[PAD]"),
  });
  const metrics = await evaluateClassifier(loaded.model, loader, id2label, { ...options, label: "eval" });
  return { ...metrics, truncated: split.truncated };
}
