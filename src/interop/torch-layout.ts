/**
 * The PyTorch layout of the model's tensors, as the exported `mlm_torch.py` defines its modules:
 * linear weights are [out, in] (nn.Linear) where mlm-ts keeps [in, out], and layer norms call their
 * tensors weight and bias (nn.LayerNorm) where mlm-ts says scale and offset. Every other name is the
 * same: `embed.weight` [V, C], `embed.positions` [maxLen, C] (learned positions only; like the
 * embedding, not transposed), `layers.<l>.attn.{q,k,v,out}.{weight,bias}`,
 * `layers.<l>.{ln1,ln2}.{weight,bias}`, `layers.<l>.ffn.{fc1,fc2}.{weight,bias}`,
 * `final.ln.{weight,bias}` (pre-norm only), `head.dense.{weight,bias}`, `head.ln.{weight,bias}`,
 * `head.out.{weight,bias}` (only `head.out.bias` when the output is tied to `embed.weight`).
 *
 * @example
 *   const { specs, total } = paramLayout(modelConfigOf({ vocabSize: 50, dModel: 16, numLayers: 1, numHeads: 2, dFF: 32 }));
 *   const torch = toTorchLayout(specs, tensorViews(specs, new Float32Array(total))); // "layers.0.ln1.weight", ...
 *   const back = fromTorchLayout(specs, new Map(torch.map((t) => [t.name, t])), "example"); // mlm-ts's again
 */
import type { NamedTensor, ParamSpec } from "../model/index.js";

/** The PyTorch name of the mlm-ts tensor `spec`. */
export function torchName(spec: ParamSpec): string {
  return spec.name.replace(/\.scale$/, ".weight").replace(/\.offset$/, ".bias");
}

/** Whether the tensor is a linear layer's weight (a matrix other than the embedding tables), stored transposed in PyTorch. */
const transposed = (spec: ParamSpec): boolean => spec.shape.length === 2 && !spec.name.startsWith("embed.");

/** [rows, cols] -> [cols, rows], row-major. */
function transpose(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** The tensor of `spec` taken from `flat` or a named view, in PyTorch's name and layout. */
function toTorch(spec: ParamSpec, data: ArrayLike<number>): NamedTensor {
  if (!transposed(spec)) return { name: torchName(spec), shape: spec.shape.slice(), data: Float32Array.from(data) };
  const [nIn, nOut] = spec.shape;
  return { name: torchName(spec), shape: [nOut, nIn], data: transpose(data, nIn, nOut) };
}

/** Every parameter of `specs`, found by name in `tensors` (mlm-ts layout), in PyTorch's names and layout. */
export function toTorchLayout(specs: readonly ParamSpec[], tensors: readonly NamedTensor[]): NamedTensor[] {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return specs.map((s) => {
    const t = byName.get(s.name);
    if (t === undefined) throw new Error(`PyTorch export: no tensor "${s.name}"`);
    return toTorch(s, t.data);
  });
}

/** Each parameter's slice of a flat buffer in mlm-ts's layout (Adam's moments), in PyTorch's names and layout. */
export function flatToTorchLayout(specs: readonly ParamSpec[], flat: Float32Array, prefix: string): NamedTensor[] {
  return specs.map((s) => {
    const t = toTorch(s, flat.subarray(s.offset, s.offset + s.size));
    return { ...t, name: prefix + t.name };
  });
}

/**
 * The PyTorch tensors back in mlm-ts's names and layout. Every tensor of `specs` must be there under
 * `prefix` + its PyTorch name with the PyTorch shape; throws a one-line error naming `source` and
 * the first tensor that is missing or misshapen.
 */
export function fromTorchLayout(
  specs: readonly ParamSpec[],
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  source: string,
  prefix = "",
): NamedTensor[] {
  return specs.map((s) => {
    const name = prefix + torchName(s);
    const t = tensors.get(name);
    const shape = transposed(s) ? [s.shape[1], s.shape[0]] : s.shape;
    if (t === undefined) throw new Error(`${source}: missing tensor "${name}" (expected shape [${shape.join(", ")}])`);
    if (t.shape.join(",") !== shape.join(","))
      throw new Error(`${source}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
    const data = transposed(s) ? transpose(t.data, shape[0], shape[1]) : t.data;
    return { name: s.name, shape: s.shape.slice(), data };
  });
}

/** Copies PyTorch-layout per-parameter tensors (from `fromTorchLayout`) into one flat mlm-ts buffer of `total`. */
export function toFlat(specs: readonly ParamSpec[], tensors: readonly NamedTensor[], total: number): Float32Array {
  const flat = new Float32Array(total);
  specs.forEach((s, i) => flat.set(tensors[i].data, s.offset));
  return flat;
}
