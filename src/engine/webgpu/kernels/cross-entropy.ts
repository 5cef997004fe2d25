/**
 * Softmax cross-entropy at labelled rows (reference: crossEntropy of src/engine/ts-backend.ts):
 *
 *   loss_r = logsumexp(logits_r) - logits_r[label_r]
 *   dlogits_r = (softmax(logits_r) - onehot(label_r)) * gradScale     (when dlogits is not NONE)
 *   a negative label: loss 0, gradient 0
 *
 * Two kernels without workgroup memory or barriers: CROSS_ENTROPY_ROWS, one invocation per row, finds
 * the row's max and sum of exp(logit - max) (two passes, as the reference) and writes the loss and
 * the pair (max, sum) to `stats`; CROSS_ENTROPY_GRAD, one invocation per logit, writes
 * exp(logit - max) * (gradScale / sum), minus gradScale at the label. dlogits may be the logits array
 * itself: each invocation of the second reads its logit before writing its gradient, and the first
 * only reads.
 */
import { perInvocation } from "./prelude.js";

export const CROSS_ENTROPY_ROWS = perInvocation(
  "losses: u32, stats: u32, logits: u32, labels: u32, R: u32, V: u32,",
  "r",
  "a.R",
  /* wgsl */ `
let label = ints[a.labels + r];
if (label < 0) { heap[a.losses + r] = 0.0; return; }
let o = a.logits + r * a.V;
var m = -3.0e38;
for (var c = 0u; c < a.V; c++) { m = max(m, heap[o + c]); }
var s = 0.0;
for (var c = 0u; c < a.V; c++) { s += exp(heap[o + c] - m); }
heap[a.stats + 2u * r] = m;
heap[a.stats + 2u * r + 1u] = s;
heap[a.losses + r] = log(s) + m - heap[o + u32(label)];`,
);

export const CROSS_ENTROPY_GRAD = perInvocation(
  "dlogits: u32, stats: u32, logits: u32, labels: u32, R: u32, V: u32, gradScale: f32,",
  "i",
  "a.R * a.V",
  /* wgsl */ `
let r = i / a.V;
let c = i % a.V;
let label = ints[a.labels + r];
if (label < 0) { heap[a.dlogits + i] = 0.0; return; }
let e = exp(heap[a.logits + i] - heap[a.stats + 2u * r]);
var g = e * (a.gradScale / heap[a.stats + 2u * r + 1u]);
if (c == u32(label)) { g -= a.gradScale; }
heap[a.dlogits + i] = g;`,
);
