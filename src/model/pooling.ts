/**
 * Pooling: one vector per sentence from the encoder's rows, B sentences, T rows, C = dModel.
 *
 *   cls:  pooled[b] = x[first row of b]                           (the [CLS] token, the tutorial's)
 *   mean: pooled[b] = (1/K_b) * sum of x over b's K_b real rows    (padding rows left out)
 *
 * Mean pooling is the product pooled [B,C] = P [B,T] @ x [T,C] with P[b,t] = 1/K_b on b's real rows
 * (0 elsewhere), so forward and backward are the backend's matrix kernels:
 *   dx [T,C] += P^T @ dpooled     (matmulBackward's weight gradient, with P as the input)
 * and [CLS] pooling is a row gather, whose backward is a scatter-add.
 */
import type { Backend } from "../engine/backend.js";

/** How a sentence's vector is made from its rows. */
export type Pooling = "cls" | "mean";

export const POOLINGS: readonly Pooling[] = ["cls", "mean"];

/** `value` when it is a pooling; a one-line error naming `what` otherwise. */
export function checkPooling(value: unknown, what: string): Pooling {
  if (!POOLINGS.includes(value as Pooling))
    throw new Error(`${what}: pooling must be "cls" or "mean", got ${JSON.stringify(value)}`);
  return value as Pooling;
}

/** Pooling buffers sized once for maxSeqs sentences over maxRows rows. */
export class Pooler {
  /** [maxSeqs] first row of each sentence (the [CLS] rows), in backend memory. */
  private readonly firstRows: Int32Array;
  /** [maxSeqs * maxRows] the mean's weights P (allocated on the first mean pooling). */
  private weights: Float32Array | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly maxRows: number,
    private readonly maxSeqs: number,
  ) {
    this.firstRows = backend.allocInt(maxSeqs);
  }

  /**
   * pooled [B,C] from x [T,C]; seqs as in backend.ts (first row, rows, real rows per sentence).
   */
  forward(
    pooling: Pooling,
    pooled: Float32Array,
    x: Float32Array,
    seqs: Int32Array,
    B: number,
    T: number,
    C: number,
  ): void {
    if (pooling === "cls") {
      for (let b = 0; b < B; b++) this.firstRows[b] = seqs[3 * b];
      this.backend.gatherRows(pooled, x, this.firstRows, B, C);
      return;
    }
    const P = this.meanWeights(seqs, B, T);
    this.backend.matmul(pooled, P, x, null, B, T, C);
  }

  /** dx [T,C] += the gradient of the last `forward` (same pooling, seqs, B, T) given dpooled [B,C]. */
  backward(pooling: Pooling, dx: Float32Array, dpooled: Float32Array, B: number, T: number, C: number): void {
    if (pooling === "cls") {
      this.backend.scatterAddRows(dx, dpooled, this.firstRows, B, C, 1);
      return;
    }
    const P = this.weights!; // filled by forward
    // matmulBackward with inp = P [B,T], w = x [T,C]: its weight gradient is P^T @ dpooled [T,C].
    this.backend.matmulBackward(null, dx, null, dpooled, P, dx, B, T, C);
  }

  /** P [B,T]: 1/K_b on the real rows of sentence b. */
  private meanWeights(seqs: Int32Array, B: number, T: number): Float32Array {
    if (this.weights === null) this.weights = this.backend.alloc(this.maxSeqs * this.maxRows);
    const P = this.weights;
    P.fill(0, 0, B * T);
    for (let b = 0; b < B; b++) {
      const first = seqs[3 * b];
      const K = seqs[3 * b + 2];
      const w = 1 / K;
      P.fill(w, b * T + first, b * T + first + K);
    }
    return P;
  }
}
