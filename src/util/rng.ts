/**
 * Seeded pseudo-random numbers with a state that can be saved and restored (for resuming a run).
 *
 * The generator is xoshiro128** (32-bit words, period 2^128 - 1), seeded through splitmix32 so that
 * nearby seeds give unrelated streams. It is fast in JavaScript because every step is 32-bit integer
 * arithmetic (`Math.imul`, shifts), and it allocates nothing per draw.
 *
 * @example
 *   const rng = new Rng(42);
 *   rng.float();          // uniform in [0, 1)
 *   rng.int(10);          // uniform integer in [0, 10)
 *   const saved = rng.state();
 *   const again = Rng.fromState(saved); // continues the same stream
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Second normal variate of the last Box-Muller pair, or NaN when none is cached. */
  private spareNormal = Number.NaN;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    let x = seed >>> 0;
    // splitmix32: spreads the seed over the four state words (never all zero).
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // Mix in the high bits of seeds above 2^32 so they do not collide with their low half.
    const high = Math.floor(seed / 4294967296) >>> 0;
    this.s3 = (this.s3 ^ high) >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator for an independent purpose (dropout, masking, ...) derived from a seed and a label. */
  static derive(seed: number, label: string): Rng {
    let h = 0x811c9dc5; // FNV-1a over the label, then combined with the seed
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Rng(((seed >>> 0) ^ (h >>> 0)) + Math.floor(seed / 4294967296) * 4294967296);
  }

  /** Next 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n)))
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return x % n;
  }

  /** Standard normal variate (Box-Muller, the second value of each pair is cached). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = Number.NaN;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Normal variate with standard deviation `std`, redrawn until it lies within two std (Haiku's TruncatedNormal). */
  truncatedNormal(std: number): number {
    for (;;) {
      const z = this.normal();
      if (z >= -2 && z <= 2) return z * std;
    }
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j]!;
      items[j] = tmp;
    }
  }

  /** The full state, JSON-serialisable. */
  state(): RngState {
    return {
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spare: Number.isNaN(this.spareNormal) ? null : this.spareNormal,
    };
  }

  /** Restores a state saved with `state()`. */
  setState(state: RngState): void {
    const [a, b, c, d] = state.s;
    if (
      state.s.length !== 4 ||
      [a, b, c, d].some((w) => typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 0xffffffff)
    ) {
      throw new Error("Rng.setState: expected four 32-bit unsigned words in 's'");
    }
    this.s0 = a | 0;
    this.s1 = b | 0;
    this.s2 = c | 0;
    this.s3 = d | 0;
    this.spareNormal = state.spare ?? Number.NaN;
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }
}

export interface RngState {
  s: number[];
  spare: number | null;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
