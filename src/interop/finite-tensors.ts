/**
 * The check of every number an export or import carries: a NaN or an infinity in weights or Adam's
 * moments makes every output of the model meaningless (fill and eval would print numbers without a
 * warning), so such a file is refused, naming the tensor and the index.
 *
 * @example
 *   checkFiniteTensors([{ name: "embed.weight", shape: [2, 2], data: new Float32Array([0, 1, NaN, 3]) }], "model.safetensors", "weights");
 *   // Error: model.safetensors: "embed.weight" holds NaN at index 2 ([1, 0] of [2, 2]); non-finite weights are refused
 */

/** A tensor as safetensors files and checkpoints hold it. */
export interface TensorValues {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** The coordinates of flat index `i` in a row-major tensor of `shape`. */
function coordinates(i: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return out;
}

/** Throws, naming `file`, the tensor and the index, at the first NaN or infinity of `tensors`. */
export function checkFiniteTensors(tensors: Iterable<TensorValues>, file: string, what: "weights" | "moments"): void {
  for (const { name, shape, data } of tensors) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v - v === 0) continue; // v - v is NaN exactly for NaN and +-Infinity
      const at = shape.length > 1 ? ` ([${coordinates(i, shape).join(", ")}] of [${shape.join(", ")}])` : "";
      throw new Error(`${file}: "${name}" holds ${v} at index ${i}${at}; non-finite ${what} are refused`);
    }
  }
}
