/**
 * Softmax cross-entropy at labelled rows (reference: crossEntropy of src/engine/ts-backend.ts), one
 * workgroup of 256 invocations per row of V logits:
 *
 *   loss_r = logsumexp(logits_r) - logits_r[label_r]
 *   dlogits_r = (softmax(logits_r) - onehot(label_r)) * gradScale     (when dlogits is not NONE)
 *   a negative label: loss 0, gradient 0
 *
 * dlogits may be the logits array itself: every invocation reads a logit before writing its gradient
 * (the target logit is read before any write), as the reference does.
 */
import { kernelSource } from "./prelude.js";

export const CROSS_ENTROPY = kernelSource(
  "losses: u32, dlogits: u32, logits: u32, labels: u32, R: u32, V: u32, gradScale: f32,",
  /* wgsl */ `
var<workgroup> partial: array<f32, 256>;
var<workgroup> targetLogit: f32;

// partial[0] = the reduction (max or sum) of every invocation's partial[local]
fn reduce(local: u32, isMax: bool) {
  for (var width = 128u; width > 0u; width >>= 1u) {
    workgroupBarrier();
    if (local < width) {
      if (isMax) { partial[local] = max(partial[local], partial[local + width]); }
      else { partial[local] = partial[local] + partial[local + width]; }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let r = wg.x;
  let o = a.logits + r * a.V;
  let label = ints[a.labels + r];
  let grad = a.dlogits != 0xffffffffu;
  let d = a.dlogits + r * a.V;
  if (label < 0) {
    if (local == 0u) { heap[a.losses + r] = 0.0; }
    if (grad) { for (var c = local; c < a.V; c += 256u) { heap[d + c] = 0.0; } }
    return;
  }
  var m = -3.0e38;
  for (var c = local; c < a.V; c += 256u) { m = max(m, heap[o + c]); }
  if (local == 0u) { targetLogit = heap[o + u32(label)]; }
  partial[local] = m;
  reduce(local, true);
  let rowMax = partial[0];
  workgroupBarrier(); // every invocation has read the max before partial is reused
  var s = 0.0;
  for (var c = local; c < a.V; c += 256u) {
    let e = exp(heap[o + c] - rowMax);
    if (grad) { heap[d + c] = e; }
    s += e;
  }
  partial[local] = s;
  reduce(local, false);
  let sum = partial[0];
  if (grad) {
    let inv = a.gradScale / sum;
    for (var c = local; c < a.V; c += 256u) {
      var g = heap[d + c] * inv;
      if (c == u32(label)) { g -= a.gradScale; }
      heap[d + c] = g;
    }
  }
  if (local == 0u) { heap[a.losses + r] = log(sum) + rowMax - targetLogit; }
}`,
);
