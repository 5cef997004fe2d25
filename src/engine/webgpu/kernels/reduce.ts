/**
 * Sums over whole arrays, for the values a step reads back (reference: sumSquares of
 * src/engine/ts-backend.ts, which sums in float64; here float32 partial sums):
 *
 *   SUM_PARTIALS: partials[g] = sum of x[g], x[g + stride], ... (or of their squares), one invocation
 *                 per g < stride (at most PARTIALS)
 *   SUM_FINAL:    dst = sum of partials[0 .. stride), one invocation
 *
 * Two levels without workgroup memory or barriers: plenty for the few sums of a step.
 */
import { kernelSource, perInvocation } from "./prelude.js";

/** Invocations of SUM_PARTIALS, hence the length of its partials. */
export const PARTIALS = 4096;

export const SUM_PARTIALS = perInvocation(
  "partials: u32, x: u32, n: u32, squares: u32, stride: u32,",
  "g",
  "a.stride",
  /* wgsl */ `
var s = 0.0;
for (var i = g; i < a.n; i += a.stride) {
  let v = heap[a.x + i];
  s += select(v, v * v, a.squares != 0u);
}
heap[a.partials + g] = s;`,
);

export const SUM_FINAL = kernelSource(
  "dst: u32, partials: u32, count: u32,",
  /* wgsl */ `
@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < a.count; i++) { s += heap[a.partials + i]; }
  heap[a.dst] = s;
}`,
);
