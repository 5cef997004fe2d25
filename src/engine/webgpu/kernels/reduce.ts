/**
 * Sums over whole arrays, for the values a step reads back (reference: sumSquares of
 * src/engine/ts-backend.ts, which sums in float64; here float32 partial sums):
 *
 *   SUM_PARTIALS: partials[w] = sum over the elements of workgroup w's stride of x (or of x^2)
 *   SUM_FINAL:    dst = sum of partials[0 .. count)    (one workgroup)
 *
 * The first runs up to PARTIAL_GROUPS workgroups of 256 invocations, invocation g summing elements
 * g, g + stride, ... (stride = 256 x the workgroups); both finish with a tree sum in workgroup memory.
 */
import { kernelSource } from "./prelude.js";

/** Workgroups of SUM_PARTIALS, hence the length of its partials. */
export const PARTIAL_GROUPS = 256;

const TREE = /* wgsl */ `
var<workgroup> partial: array<f32, 256>;
fn treeSum(local: u32) -> f32 {
  for (var width = 128u; width > 0u; width >>= 1u) {
    workgroupBarrier();
    if (local < width) { partial[local] = partial[local] + partial[local + width]; }
  }
  workgroupBarrier();
  return partial[0];
}`;

export const SUM_PARTIALS = kernelSource(
  "partials: u32, x: u32, n: u32, squares: u32, stride: u32,",
  /* wgsl */ `${TREE}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  var s = 0.0;
  for (var i = wg.x * 256u + local; i < a.n; i += a.stride) {
    let v = heap[a.x + i];
    s += select(v, v * v, a.squares != 0u);
  }
  partial[local] = s;
  let total = treeSum(local);
  if (local == 0u) { heap[a.partials + wg.x] = total; }
}`,
);

export const SUM_FINAL = kernelSource(
  "dst: u32, partials: u32, count: u32,",
  /* wgsl */ `${TREE}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) local: u32) {
  var s = 0.0;
  for (var i = local; i < a.count; i += 256u) { s += heap[a.partials + i]; }
  partial[local] = s;
  let total = treeSum(local);
  if (local == 0u) { heap[a.dst] = total; }
}`,
);
