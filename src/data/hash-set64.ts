/**
 * A set of 64-bit hashes (two unsigned 32-bit halves), for deduplicating a streamed corpus: 8 bytes a
 * slot in one flat Uint32Array, open addressing with linear probing, grown by doubling at 2/3 load.
 * 20 million sentences take at most 2^25 slots = 256 MiB (512 MiB while it grows, for a moment).
 * The hash (0, 0) marks an empty slot, so it is stored apart.
 *
 * @example
 *   const seen = new HashSet64();
 *   seen.add(0x1234, 0x5678); // true: new
 *   seen.add(0x1234, 0x5678); // false: already there
 */
export class HashSet64 {
  private slots: Uint32Array;
  private mask: number;
  private used = 0;
  private hasZero = false;

  constructor(initialSlots = 1 << 16) {
    let n = 16;
    while (n < initialSlots) n *= 2;
    this.slots = new Uint32Array(2 * n);
    this.mask = n - 1;
  }

  /** Hashes held. */
  get size(): number {
    return this.used + (this.hasZero ? 1 : 0);
  }

  /** Adds the hash; returns whether it was new. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) {
      if (this.hasZero) return false;
      this.hasZero = true;
      return true;
    }
    if (3 * (this.used + 1) > 2 * (this.mask + 1)) this.grow();
    if (!this.insert(this.slots, this.mask, hi >>> 0, lo >>> 0)) return false;
    this.used++;
    return true;
  }

  /** Inserts into `slots`; false when the hash is there already. */
  private insert(slots: Uint32Array, mask: number, hi: number, lo: number): boolean {
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const h = slots[2 * i];
      const l = slots[2 * i + 1];
      if (h === 0 && l === 0) {
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        return true;
      }
      if (h === hi && l === lo) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const mask = 2 * (this.mask + 1) - 1;
    const slots = new Uint32Array(2 * (mask + 1));
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(slots, mask, old[i], old[i + 1]);
    }
    this.slots = slots;
    this.mask = mask;
  }
}
