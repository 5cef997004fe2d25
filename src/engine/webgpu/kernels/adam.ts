/**
 * Adam with global-norm clipping (reference: adamUpdate of src/engine/ts-backend.ts and
 * Adam.update of src/train/optimizer.ts), one invocation per parameter:
 *
 *   scale = the given gradScale, or, when normSlot is not NONE, from the sum of squared gradients
 *           the reduction kernels left at heap[normSlot]: norm = sqrt(it),
 *           scale = maxNorm / norm when maxNorm > 0 and norm > maxNorm, else 1
 *   g = grad * scale;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m c1 / (sqrt(v c2) + eps) + weightDecay * p where mask[i] = 1)
 *   (c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t), computed by the caller)
 *
 * A norm that is NaN or infinite updates nothing (the caller reads the norm back and reports it).
 */
import { perInvocation } from "./prelude.js";

export const ADAM = perInvocation(
  `params: u32, grads: u32, m: u32, v: u32, mask: u32, n: u32, normSlot: u32,
  learningRate: f32, beta1: f32, beta2: f32, eps: f32, c1: f32, c2: f32, weightDecay: f32, gradScale: f32, maxNorm: f32,`,
  "i",
  "a.n",
  /* wgsl */ `
var scale = a.gradScale;
if (a.normSlot != 0xffffffffu) {
  let norm = sqrt(heap[a.normSlot]);
  if (!(norm <= 3.4028234e38)) { return; }
  if (a.maxNorm > 0.0 && norm > a.maxNorm) { scale = a.maxNorm / norm; } else { scale = 1.0; }
}
let g = heap[a.grads + i] * scale;
let mi = a.beta1 * heap[a.m + i] + (1.0 - a.beta1) * g;
let vi = a.beta2 * heap[a.v + i] + (1.0 - a.beta2) * g * g;
heap[a.m + i] = mi;
heap[a.v + i] = vi;
let p = heap[a.params + i];
var u = (mi * a.c1) / (sqrt(vi * a.c2) + a.eps);
if (a.weightDecay > 0.0 && heap[a.mask + i] == 1.0) { u += a.weightDecay * p; }
heap[a.params + i] = p - a.learningRate * u;`,
);
