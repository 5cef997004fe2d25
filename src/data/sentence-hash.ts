/**
 * A 64-bit hash of a sentence, and the seeded sample/split decision drawn from it: the way a streamed
 * corpus is deduplicated, sampled and split in one pass, without holding its sentences.
 *
 * The hash is two independent 32-bit lanes (MurmurHash3's mixing, each with its own seed) over the
 * sentence's UTF-16 code units; 64 bits make a false duplicate unlikely (about n^2 / 2^65: 1 in 70,000
 * for 20 million sentences). The sample/split decision mixes the hash with the data seed, so it depends
 * only on (sentence, seed): the same sentence is always on the same side, whatever file or line it is
 * in, and a repeated sentence gets the same decision as its first occurrence.
 */

/** The two 32-bit halves of a sentence's hash (unsigned). */
export interface Hash64 {
  hi: number;
  lo: number;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Hashes `text` into `out` (reused: nothing allocated) and returns it. */
export function hashSentence(text: string, out: Hash64 = { hi: 0, lo: 0 }): Hash64 {
  let a = 0x9747b28c;
  let b = 0x5bd1e995 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let k = Math.imul(c, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    let m = Math.imul(c ^ 0x5a5a, C2);
    m = (m << 17) | (m >>> 15);
    m = Math.imul(m, C1);
    b ^= m;
    b = (b << 11) | (b >>> 21);
    b = (Math.imul(b, 9) + 0x52dce729) | 0;
  }
  out.hi = finalMix(a ^ text.length) >>> 0;
  out.lo = finalMix(b ^ Math.imul(text.length, 31)) >>> 0;
  return out;
}

/** MurmurHash3's 32-bit finalizer: every input bit moves every output bit. */
function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Where a sentence goes: left out of the sample, into training, or into validation. */
export const Side = { Dropped: 0, Train: 1, Valid: 2 } as const;
export type Side = (typeof Side)[keyof typeof Side];

/**
 * The side of a sentence with hash `h`: two uniform numbers in [0, 1) drawn from (h, seed); the
 * sentence is sampled when the first is below `sample` (so about `sample` of the sentences are, the
 * exact count varying as a binomial draw), and goes to training when the second is below
 * `trainFraction`.
 *
 * @example
 *   const side = sideOf(hashSentence("The cat sleeps."), 42, 0.05, 0.8); // Side.Dropped for most sentences
 */
export function sideOf(h: Hash64, seed: number, sample: number, trainFraction: number): Side {
  const s = Math.imul(seed | 0, 0x9e3779b1);
  const u1 = finalMix(h.hi ^ s ^ finalMix(h.lo + 0x632be5ab)) >>> 0;
  const u2 = finalMix(h.lo ^ finalMix(h.hi ^ s ^ 0x7f4a7c15)) >>> 0;
  if (sample < 1 && u1 / 4294967296 >= sample) return Side.Dropped;
  return u2 / 4294967296 < trainFraction ? Side.Train : Side.Valid;
}
