/**
 * The order in which an epoch visits the sentences, and the number of batches it makes.
 *
 * By default the order is the identity, as the tutorial's DataLoader (no shuffle). With `shuffle`, each
 * epoch gets its own permutation computed from (seed, epoch) alone, so resuming at any epoch needs no
 * replay of the earlier ones.
 */
import { Rng } from "../util/rng.js";
import { DEFAULT_CONFIG } from "../config/table.js";

export interface OrderOptions {
  /** Shuffle the sentences each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffles (default: the configuration's seed). */
  seed?: number;
}

/** Batches in one epoch: ceil(n / batchSize), the last one smaller when n is not a multiple (like DataLoader). */
export function batchesPerEpoch(n: number, batchSize: number): number {
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  return Math.ceil(n / batchSize);
}

/**
 * Writes the sentence order of `epoch` into `out` (allocated when omitted) and returns it.
 *
 * @example
 *   epochOrder(5, 0);                                 // Int32Array [0, 1, 2, 3, 4]
 *   epochOrder(5, 3, { shuffle: true, seed: 42 });    // a permutation, the same every time for (42, 3)
 */
export function epochOrder(n: number, epoch: number, options: OrderOptions = {}, out?: Int32Array): Int32Array {
  if (!(Number.isInteger(epoch) && epoch >= 0)) throw new Error(`epoch must be a non-negative integer, got ${epoch}`);
  const order = out ?? new Int32Array(n);
  if (order.length !== n) throw new Error(`epochOrder: output has length ${order.length}, expected ${n}`);
  for (let i = 0; i < n; i++) order[i] = i;
  if (options.shuffle) Rng.derive(options.seed ?? DEFAULT_CONFIG.seed, `data/shuffle/${epoch}`).shuffle(order);
  return order;
}
