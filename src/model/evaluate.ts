/**
 * Evaluation over a whole split: mean masked-token cross-entropy, perplexity and top-1 / top-5
 * accuracy at the masked positions, without dropout or gradients.
 *
 * The loss is averaged over every masked token of the split (a token-weighted mean; the tutorial
 * averages per-batch means, which weighs tokens of small batches more).
 */
import type { Batch } from "../data/batch.js";
import { Pacer } from "../util/cooperative.js";
import { createProgress } from "../util/progress.js";
import type { MlmModel } from "./model.js";

/** Figures of one evaluation over a split. */
export interface EvalMetrics {
  /** Mean cross-entropy per masked token (nats). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Share of masked tokens whose label has the highest score. */
  accuracy: number;
  /** Share of masked tokens whose label is among the 5 highest scores. */
  top5: number;
  /** Masked tokens scored. */
  tokens: number;
}

/** How `evaluateSplit` scores the batches. */
export interface EvalOptions {
  fullHead: boolean;
  progress?: boolean;
  label?: string;
  /** Stops between two batches (throwing its reason) once aborted. */
  signal?: AbortSignal;
}

/** Batches with fixed contents, read by index: a validation loader (data's MlmDataLoader). */
export interface FixedBatches {
  readonly batchesPerEpoch: number;
  batch(epoch: number, index: number): Batch;
}

/**
 * The first batches of `loader` that hold `sentences` sentences in whole batches of `batchSize` (all of
 * them when `sentences` is 0 or more than it holds): a validation loader's fixed masks are drawn per
 * batch, so these batches score what an evaluation of every sentence scores on them.
 *
 * @example
 *   firstBatches(validLoader, 2048, 64).batchesPerEpoch; // 32 (or fewer, for a smaller split)
 */
export function firstBatches(loader: FixedBatches, sentences: number, batchSize: number): FixedBatches {
  const wanted = Math.ceil(sentences / batchSize);
  if (sentences === 0 || wanted >= loader.batchesPerEpoch) return loader;
  return { batchesPerEpoch: wanted, batch: (epoch, index) => loader.batch(epoch, index) };
}

/**
 * Scores every batch of `loader` (its fixed validation masks) with `model`. Between batches it gives
 * the event loop a turn about every 50 ms, so that a signal handler can abort `options.signal`.
 */
export async function evaluateSplit(model: MlmModel, loader: FixedBatches, options: EvalOptions): Promise<EvalMetrics> {
  const bar = createProgress({
    label: options.label ?? "eval",
    total: loader.batchesPerEpoch,
    silent: !options.progress,
  });
  const pacer = new Pacer(options.signal);
  let lossSum = 0;
  let count = 0;
  let top1 = 0;
  let top5 = 0;
  try {
    options.signal?.throwIfAborted();
    for (let i = 0; i < loader.batchesPerEpoch; i++) {
      const r = model.evaluate(loader.batch(0, i), { fullHead: options.fullHead });
      lossSum += r.lossSum;
      count += r.count;
      top1 += r.top1;
      top5 += r.top5;
      bar.update(i + 1);
      if (pacer.due()) await pacer.pause();
    }
  } finally {
    bar.stop();
  }
  return metricsFromSums(lossSum, count, top1, top5);
}

/** Turns summed losses and hit counts into the reported metrics (0 tokens: NaN loss). */
export function metricsFromSums(lossSum: number, count: number, top1: number, top5: number): EvalMetrics {
  const loss = count > 0 ? lossSum / count : Number.NaN;
  return {
    loss,
    perplexity: Math.exp(loss),
    accuracy: count > 0 ? top1 / count : Number.NaN,
    top5: count > 0 ? top5 / count : Number.NaN,
    tokens: count,
  };
}
