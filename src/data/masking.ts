/**
 * Masked-language-model masking rules.
 *
 * The tutorial's rule (the default): every real token that is not special is selected with probability
 * p = 0.15; a selected token is replaced by [MASK] and labelled with its original id; every other
 * position is labelled -100 (ignored by the loss). The tutorial's `special_tokens_mask` marks the tokens
 * the post-processor added ([CLS], [SEP]) and the padding; [UNK] is an ordinary, maskable token.
 *
 * BERT's 80/10/10 rule is the same selection followed by a second draw for each selected token:
 * `maskTokenRate` of them become [MASK], `randomTokenRate` a uniformly drawn non-special id, the rest
 * keep their id (the label is the original id in all three cases).
 */
import { DEFAULT_CONFIG } from "../config/table.js";

export interface MaskOptions {
  /** Probability that a non-special token is selected. Default: the configuration's maskProb. */
  probability?: number;
  /** Fraction of selected tokens replaced by [MASK]. Default: the configuration's (the tutorial's 1); BERT uses 0.8. */
  maskTokenRate?: number;
  /** Fraction of selected tokens replaced by a random non-special id. Default: the configuration's (0); BERT uses 0.1. */
  randomTokenRate?: number;
}

/** What is never masked: a predicate on ids, a lookup table (non-zero = special) or a list of ids. */
export type SpecialSpec = ((id: number) => boolean) | Uint8Array | readonly number[];

/** Everything the collate needs to mask, prepared once. */
export interface Masking {
  probability: number;
  maskTokenRate: number;
  randomTokenRate: number;
  maskId: number;
  /** [vocabSize] 1 where the id is special (never selected). */
  special: Uint8Array;
  /** The non-special ids, the pool of random replacements. */
  randomPool: Int32Array;
}

/**
 * Builds a [vocabSize] lookup table, 1 for special ids.
 *
 * @example
 *   specialTable(25000, [0, 1, 2, 3]); // [PAD] [CLS] [SEP] [MASK]; [UNK] (4) stays maskable
 */
export function specialTable(vocabSize: number, spec: SpecialSpec): Uint8Array {
  if (!(Number.isInteger(vocabSize) && vocabSize > 0))
    throw new Error(`vocabSize must be a positive integer, got ${vocabSize}`);
  const table = new Uint8Array(vocabSize);
  if (typeof spec === "function") {
    for (let id = 0; id < vocabSize; id++) table[id] = spec(id) ? 1 : 0;
  } else if (spec instanceof Uint8Array) {
    if (spec.length < vocabSize)
      throw new Error(`special-token table has ${spec.length} entries, expected vocabSize=${vocabSize}`);
    for (let id = 0; id < vocabSize; id++) table[id] = spec[id] ? 1 : 0;
  } else {
    for (const id of spec) {
      if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
        throw new Error(`special token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      table[id] = 1;
    }
  }
  return table;
}

/** Validates the options and prepares the tables. Throws a one-line error on an invalid rate. */
export function createMasking(
  options: MaskOptions & { maskId: number; vocabSize: number; isSpecial: SpecialSpec },
): Masking {
  const probability = options.probability ?? DEFAULT_CONFIG.maskProb;
  const maskTokenRate = options.maskTokenRate ?? DEFAULT_CONFIG.maskTokenRate;
  const randomTokenRate = options.randomTokenRate ?? DEFAULT_CONFIG.randomTokenRate;
  for (const [name, v] of [
    ["probability", probability],
    ["maskTokenRate", maskTokenRate],
    ["randomTokenRate", randomTokenRate],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new Error(`masking: ${name} must be in [0, 1], got ${v}`);
  }
  if (maskTokenRate + randomTokenRate > 1 + 1e-12) {
    throw new Error(
      `masking: maskTokenRate + randomTokenRate must be at most 1, got ${maskTokenRate} + ${randomTokenRate}`,
    );
  }
  const special = specialTable(options.vocabSize, options.isSpecial);
  if (!(Number.isInteger(options.maskId) && options.maskId >= 0 && options.maskId < options.vocabSize)) {
    throw new Error(`masking: maskId ${options.maskId} is outside the vocabulary [0, ${options.vocabSize})`);
  }
  let poolSize = 0;
  for (let id = 0; id < options.vocabSize; id++) if (!special[id]) poolSize++;
  const randomPool = new Int32Array(poolSize);
  for (let id = 0, k = 0; id < options.vocabSize; id++) if (!special[id]) randomPool[k++] = id;
  if (randomTokenRate > 0 && poolSize === 0) throw new Error("masking: randomTokenRate > 0 but every id is special");
  return { probability, maskTokenRate, randomTokenRate, maskId: options.maskId, special, randomPool };
}
