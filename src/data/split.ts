/**
 * Seeded sampling and train/validation split, with the sizes of the tutorial's pandas + scikit-learn
 * calls: `data.sample(frac=0.05, random_state=42)` then `train_test_split(data, train_size=0.8,
 * random_state=42)`. The random draw itself is ours (pandas' exact choice cannot be reproduced without
 * NumPy's generator); the sizes are the same and the result is fixed by the seed.
 */
import { Rng } from "../util/rng.js";
import { DEFAULT_CONFIG } from "../config/table.js";

export interface SplitOptions {
  /** Fraction of the sentences to keep, in (0, 1]; 1 keeps all. Default: the configuration's sample. */
  sample?: number;
  /** Fraction of the sample that goes to training, in (0, 1]. Default: the configuration's trainFraction. */
  trainFraction?: number;
  /** Seed of the sampling and of the split. Default: the configuration's dataSeed. */
  seed?: number;
}

export interface Split<T> {
  train: T[];
  valid: T[];
}

/**
 * Samples `round(n * sample)` items (Python's round, half to even, as pandas does), then shuffles the
 * sample and splits it: `floor(trainFraction * m)` for training (scikit-learn's rule), the rest for
 * validation. Same input and seed, same result; another seed, another draw.
 *
 * @example
 *   const { train, valid } = sampleAndSplit(sentences, { sample: 0.05, trainFraction: 0.8, seed: 42 });
 *   // 65241 sentences -> 3262 sampled -> 2609 train, 653 valid
 */
export function sampleAndSplit<T>(items: readonly T[], options: SplitOptions = {}): Split<T> {
  const sample = options.sample ?? DEFAULT_CONFIG.sample;
  const trainFraction = options.trainFraction ?? DEFAULT_CONFIG.trainFraction;
  const seed = options.seed ?? DEFAULT_CONFIG.dataSeed;
  if (!(sample > 0 && sample <= 1)) throw new Error(`sample must be in (0, 1], got ${sample}`);
  if (!(trainFraction > 0 && trainFraction <= 1))
    throw new Error(`trainFraction must be in (0, 1], got ${trainFraction}`);
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);

  const { sampleSize, trainSize } = splitSizes(items.length, sample, trainFraction);
  const picked = sampleIndices(items.length, sampleSize, Rng.derive(seed, "data/sample"));
  // train_test_split: shuffle the sample, the first n_valid go to validation, the rest to training.
  Rng.derive(seed, "data/split").shuffle(picked);
  const validSize = sampleSize - trainSize;
  const valid: T[] = new Array<T>(validSize);
  const train: T[] = new Array<T>(trainSize);
  for (let i = 0; i < validSize; i++) valid[i] = items[picked[i]]!;
  for (let i = 0; i < trainSize; i++) train[i] = items[picked[validSize + i]]!;
  return { train, valid };
}

/** The sizes `sampleAndSplit` will produce; throws when the training (or a requested validation) set would be empty. */
export function splitSizes(
  n: number,
  sample: number,
  trainFraction: number,
): { sampleSize: number; trainSize: number; validSize: number } {
  const sampleSize = sample === 1 ? n : roundHalfEven(n * sample);
  const trainSize = Math.floor(trainFraction * sampleSize);
  const validSize = sampleSize - trainSize;
  if (trainSize === 0 || (trainFraction < 1 && validSize === 0)) {
    throw new Error(
      `too few sentences to split: ${n} sentences, sample ${sample} -> ${sampleSize}, train fraction ` +
        `${trainFraction} -> ${trainSize} train and ${validSize} validation; use more data or a larger sample`,
    );
  }
  return { sampleSize, trainSize, validSize };
}

/** Python's `round`: to the nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `k` distinct indices from [0, n) in random order (a partial Fisher-Yates shuffle); all of them, in order, when k = n. */
function sampleIndices(n: number, k: number, rng: Rng): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (k === n) return idx;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i];
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, k);
}
