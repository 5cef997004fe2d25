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
  /** Whether `sum` holds the gradient (an accumulation of several passes ended), not `pass`. */
  private summed = false;
  /** Float64 sum of loss * labelled rows over the passes. */
  private lossSum = 0;
  private count = 0;
  private firstCount = 0;

  /**
   * @param owner the model's name, for the messages ("MlmModel", "ClassifierModel")
   * @param pass where each pass leaves its gradient (overwritten by the next pass)
   * @param sum the sum, same length; null when this model has no room for it (one pass at most)
   */
  constructor(
    private readonly owner: string,
    private readonly backend: Backend,
    private readonly pass: Float32Array,
    readonly sum: Float32Array | null,
  ) {}

  /** Whether passes were added since the last `end`. */
  get open(): boolean {
    return this.passes > 0;
  }

  /** The model's gradients: `pass` after a plain pass, the mean in `sum` after several accumulated ones. */
  get grads(): Float32Array {
    return this.summed && this.sum !== null ? this.sum : this.pass;
  }

  /**
   * Runs one pass (`backprop` leaves its gradient in `pass`): a plain one, refused while an
   * accumulation is open, or with `accumulate` one that joins the open accumulation.
   */
  run<R extends { loss: number; count: number }>(accumulate: boolean, backprop: () => R): R {
    if (accumulate) this.beforePass();
    else if (this.open)
      throw new Error(
        `${this.owner}: a pass without accumulate in the middle of an accumulation; call endAccumulation first`,
      );
    this.summed = false;
    const result = backprop();
    if (accumulate) this.afterPass(result.loss, result.count);
    return result;
  }

  /** Before a pass overwrites `pass`: from the second pass on, the first pass's gradient starts the sum. */
  private beforePass(): void {
    if (this.passes === 0) return;
    if (this.sum === null)
      throw new Error(
        `${this.owner}: accumulating several passes needs capacity.accumulate (a second gradient buffer)`,
      );
    if (this.passes === 1) this.backend.scaleAdd(this.sum, this.pass, this.sum.length, this.firstCount, false);
  }

  /** After a pass: its loss and labelled rows join, and from the second pass on its gradient. */
  private afterPass(loss: number, count: number): void {
    this.passes++;
    this.lossSum += loss * count;
    this.count += count;
    if (this.passes === 1) this.firstCount = count;
    else if (this.sum !== null) this.backend.scaleAdd(this.sum, this.pass, this.sum.length, count, true);
  }

  /**
   * Ends the accumulation: the mean loss over all labelled rows and their count; `grads` is then the
   * mean gradient (in `sum` after several passes, still in `pass` after one).
   */
  end(): { loss: number; count: number } {
    const { passes, count } = this;
    if (passes === 0) throw new Error(`${this.owner}.endAccumulation: no pass with accumulate to end`);
    const loss = count > 0 ? this.lossSum / count : 0;
    this.passes = 0;
    this.lossSum = 0;
    this.count = 0;
    this.summed = passes > 1 && this.sum !== null;
    if (this.summed && this.sum !== null)
      this.backend.scaleAdd(this.sum, this.sum, this.sum.length, count > 0 ? 1 / count : 0, false);
    return { loss, count };
  }
}
