/**
 * Evaluation of a classifier over a whole split: mean cross-entropy per sentence, and the report of
 * classification-metrics.ts (accuracy, macro-F1, per-class precision/recall/F1, confusion matrix),
 * without dropout or gradients.
 */
import type { Batch } from "../data/batch.js";
import { Pacer } from "../util/cooperative.js";
import { createProgress } from "../util/progress.js";
import type { ClassifierModel } from "./classifier.js";
import { ConfusionMatrix, type ClassificationReport } from "./classification-metrics.js";
import type { FixedBatches } from "./evaluate.js";

/** A classification evaluation: the loss and the report. */
export interface ClassifierMetrics extends ClassificationReport {
  /** Mean cross-entropy per sentence (nats). */
  loss: number;
}

/**
 * Scores every batch of `loader` with `model`; gives the event loop a turn about every 50 ms, so that
 * a signal handler can abort `options.signal`.
 */
export async function evaluateClassifier(
  model: ClassifierModel,
  loader: FixedBatches,
  id2label: readonly string[],
  options: { progress?: boolean; label?: string; signal?: AbortSignal } = {},
): Promise<ClassifierMetrics> {
  const bar = createProgress({
    label: options.label ?? "eval",
    total: loader.batchesPerEpoch,
    silent: !options.progress,
  });
  const pacer = new Pacer(options.signal);
  const matrix = new ConfusionMatrix(model.numLabels);
  const labels = new Int32Array(model.capacity.maxSeqs);
  let lossSum = 0;
  let count = 0;
  try {
    options.signal?.throwIfAborted();
    for (let i = 0; i < loader.batchesPerEpoch; i++) {
      const batch: Batch = loader.batch(0, i);
      const r = model.evaluate(batch);
      for (let b = 0; b < batch.numSeqs; b++) labels[b] = batch.labels[batch.seqs[3 * b]];
      matrix.addLogits(r.logits, labels, batch.numSeqs);
      lossSum += r.lossSum;
      count += r.count;
      bar.update(i + 1);
      if (pacer.due()) await pacer.pause();
    }
  } finally {
    bar.stop();
  }
  return { loss: count > 0 ? lossSum / count : Number.NaN, ...matrix.report(id2label) };
}
