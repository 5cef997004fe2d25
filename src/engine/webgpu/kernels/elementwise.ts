/**
 * Element-wise kernels, one invocation per element (reference: the same-named methods of
 * src/engine/ts-backend.ts). They repeat the reference's float32 steps, so dropout, ReLU, scaleAdd
 * and fill give the same bits as TsBackend; GELU calls the GPU's exp, whose last bits may differ.
 *
 * The dropout mask is the counter-based hash of backend.ts (`dropoutHash`): murmur3's finalizer of
 * seed ^ (i * golden ratio) in 32-bit integer arithmetic, which WGSL's u32 multiply reproduces exactly
 * (it wraps modulo 2^32 as Math.imul does). Unit i is kept iff the hash >= threshold.
 */
import { perInvocation } from "./prelude.js";

const HASH = /* wgsl */ `
fn dropoutHash(seed: u32, i: u32) -> u32 {
  var h = seed ^ (i * 0x9e3779b9u);
  h = (h ^ (h >> 16u)) * 0x85ebca6bu;
  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;
  return h ^ (h >> 16u);
}
fn kept(seed: u32, threshold: u32, i: u32) -> bool {
  return threshold == 0u || dropoutHash(seed, i) >= threshold;
}
`;

/** One invocation per element i < a.n; `body` uses i. */
function elementwise(args: string, body: string, helpers = ""): string {
  return perInvocation(args, "i", "a.n", body, helpers);
}

/** heap[dst + i] = value (a Float32Array's fill on the GPU copy). */
export const FILL = elementwise("dst: u32, n: u32, value: f32,", "heap[a.dst + i] = a.value;");

/** scaleAdd: out = (accumulate ? out : 0) + w * x, the product rounded first. */
export const SCALE_ADD = elementwise(
  "out: u32, x: u32, n: u32, accumulate: u32, w: f32,",
  `let p = a.w * heap[a.x + i];
  if (a.accumulate != 0u) { heap[a.out + i] = heap[a.out + i] + p; } else { heap[a.out + i] = p; }`,
);

/** dropout: out = kept(i) ? inp * scale : 0. */
export const DROPOUT = elementwise(
  "out: u32, inp: u32, n: u32, threshold: u32, seed: u32, scale: f32,",
  `let x = heap[a.inp + i];
  if (a.threshold == 0u) { heap[a.out + i] = x; return; }
  heap[a.out + i] = select(0.0, x * a.scale, kept(a.seed, a.threshold, i));`,
  HASH,
);

/** addDropout: out = x + (kept(i) ? y * scale : 0). */
export const ADD_DROPOUT = elementwise(
  "out: u32, x: u32, y: u32, n: u32, threshold: u32, seed: u32, scale: f32,",
  `var d = 0.0;
  if (kept(a.seed, a.threshold, i)) { d = heap[a.y + i] * a.scale; }
  heap[a.out + i] = heap[a.x + i] + d;`,
  HASH,
);

/** reluDropout in place: x = (x > 0 && kept(i)) ? x * scale : 0. */
export const RELU_DROPOUT = elementwise(
  "x: u32, n: u32, threshold: u32, seed: u32, scale: f32,",
  `let v = heap[a.x + i];
  heap[a.x + i] = select(0.0, v * a.scale, v > 0.0 && kept(a.seed, a.threshold, i));`,
  HASH,
);

/** reluBackward in place: d = y > 0 ? d * scale : 0. */
export const RELU_BACKWARD = elementwise(
  "d: u32, y: u32, n: u32, scale: f32,",
  "heap[a.d + i] = select(0.0, heap[a.d + i] * a.scale, heap[a.y + i] > 0.0);",
);

/** gelu: out = x * sigmoid(x * (A + B x^2)), A and B the float32 constants GELU_A, GELU_B of backend.ts. */
export const GELU = elementwise(
  "out: u32, inp: u32, n: u32, geluA: f32, geluB: f32,",
  `let x = heap[a.inp + i];
  let z = x * (a.geluA + a.geluB * (x * x));
  heap[a.out + i] = x * (1.0 / (1.0 + exp(-z)));`,
);

/** geluBackward in place: d *= s + x s (1 - s) (A + 3 B x^2), s = sigmoid(x (A + B x^2)). */
export const GELU_BACKWARD = elementwise(
  "d: u32, inp: u32, n: u32, geluA: f32, geluB: f32,",
  `let x = heap[a.inp + i];
  let x2 = x * x;
  let s = 1.0 / (1.0 + exp(-(x * (a.geluA + a.geluB * x2))));
  let slope = a.geluA + 3.0 * (a.geluB * x2);
  heap[a.d + i] = heap[a.d + i] * (s + (x * (s * (1.0 - s))) * slope);`,
);
