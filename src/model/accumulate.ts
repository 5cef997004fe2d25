/**
 * Gradient accumulation over several passes, as one batch holding all their sentences: each pass's
 * gradient (d mean loss / d params) joins a sum weighted by the pass's labelled rows, and the end
 * divides by all their labelled rows. In float32, as the backend's scaleAdd rounds each step:
 *
 *   sum = c1 * g1;  sum = sum + c_i * g_i (i = 2..k);  sum = sum * (1 / (c1 + ... + ck))
 *
 * A single pass is left as it is (no round trip through the sum), so one accumulated pass equals a
 * plain one bit for bit. The first pass's gradient joins the sum only when a second pass comes.
 */
import type { Backend } from "../engine/backend.js";

export class GradientAccumulator {
  private passes = 0;
  /** Float64 sum of loss * labelled rows over the passes. */
  private lossSum = 0;
  private count = 0;
  private firstCount = 0;

  /**
   * @param pass where each pass leaves its gradient (overwritten by the next pass)
   * @param sum the sum, same length; null when this model has no room for it (one pass at most)
   */
  constructor(
    private readonly backend: Backend,
    private readonly pass: Float32Array,
    readonly sum: Float32Array | null,
  ) {}

  /** Whether passes were added since the last `end`. */
  get open(): boolean {
    return this.passes > 0;
  }

  /** Before a pass overwrites `pass`: from the second pass on, the first pass's gradient starts the sum. */
  beforePass(): void {
    if (this.passes === 0) return;
    if (this.sum === null)
      throw new Error("MlmModel: accumulating several passes needs capacity.accumulate (a second gradient buffer)");
    if (this.passes === 1) this.backend.scaleAdd(this.sum, this.pass, this.sum.length, this.firstCount, false);
  }

  /** After a pass: its loss and labelled rows join, and from the second pass on its gradient. */
  afterPass(loss: number, count: number): void {
    this.passes++;
    this.lossSum += loss * count;
    this.count += count;
    if (this.passes === 1) this.firstCount = count;
    else if (this.sum !== null) this.backend.scaleAdd(this.sum, this.pass, this.sum.length, count, true);
  }

  /**
   * Ends the accumulation: the mean loss over all labelled rows, their count, and whether `sum` now
   * holds the mean gradient (several passes) or `pass` still does (one pass).
   */
  end(): { loss: number; count: number; summed: boolean } {
    const { passes, count } = this;
    if (passes === 0) throw new Error("MlmModel.endAccumulation: no pass with accumulate to end");
    const loss = count > 0 ? this.lossSum / count : 0;
    this.passes = 0;
    this.lossSum = 0;
    this.count = 0;
    const summed = passes > 1 && this.sum !== null;
    if (summed) this.backend.scaleAdd(this.sum, this.sum, this.sum.length, count > 0 ? 1 / count : 0, false);
    return { loss, count, summed };
  }
}
