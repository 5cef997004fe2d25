/**
 * Multi-head attention over packed sequences (reference: attentionForward and attentionBackward of
 * src/engine/ts-backend.ts; float32 sums and the GPU's exp where the reference uses float64).
 *
 * The backend turns the sequence table (backend.ts: first row, L, valid keys K per sequence) into a
 * row table in `ints`, four values per packed row t: the first row of its sequence, L, K, and the
 * offset of the sequence's block of attention weights (heads inner: head h's [L,L] block at
 * base + h L L). A row outside every sequence has L = 0 and gets zeros. Head h of a row owns columns
 * h D .. h D + D - 1.
 *
 *   forward, per (query row i, head h):
 *     s_j = q_i . k_j / sqrt(D) for keys j < K, -1e9 for padded keys;  p_ij = softmax_j(s)
 *     probs block row i = p_i;  out_i = sum_j p_ij v_j
 *   backward, two kernels:
 *     per (query row i, head h): dp_j = dout_i . v_j;  ds_ij = p_ij (dp_j - sum_l p_il dp_l) / sqrt(D)
 *       for j < K (0 for padded keys), kept in a scratch laid out as probs;  dq_i = sum_j ds_ij k_j
 *     per (key row j, head h): dv_j = sum_i p_ij dout_i;  dk_j = sum_i ds_ij q_i
 */
import { perInvocation } from "./prelude.js";

/** Score of padded keys before the softmax (the tutorial's mask value). */
const MASKED_SCORE = "-1e9";

/** The row table's entries for invocation idx = (packed row t, head h). */
const ROW_HEAD = /* wgsl */ `
let t = idx / a.H;
let h = idx % a.H;
let hc = h * a.D;
let start = u32(ints[a.rows + 4u * t]);
let L = u32(ints[a.rows + 4u * t + 1u]);
let K = u32(ints[a.rows + 4u * t + 2u]);
let block = u32(ints[a.rows + 4u * t + 3u]) + h * L * L;
let row = t - start; // this row's index inside its sequence`;

const SCORE = /* wgsl */ `
fn score(qo: u32, start: u32, j: u32, K: u32, hc: u32) -> f32 {
  if (j >= K) { return ${MASKED_SCORE}; }
  let ko = (start + j) * a.C + hc;
  var dot = 0.0;
  for (var d = 0u; d < a.D; d++) { dot += heap[a.q + qo + d] * heap[a.k + ko + d]; }
  return dot * a.scale;
}`;

export const ATTENTION_FORWARD = perInvocation(
  "out: u32, probs: u32, q: u32, k: u32, v: u32, rows: u32, T: u32, C: u32, H: u32, D: u32, scale: f32,",
  "idx",
  "a.T * a.H",
  /* wgsl */ `${ROW_HEAD}
let qo = t * a.C + hc;
if (L == 0u) {
  for (var d = 0u; d < a.D; d++) { heap[a.out + qo + d] = 0.0; }
  return;
}
var m = -3.0e38;
for (var j = 0u; j < L; j++) { m = max(m, score(qo, start, j, K, hc)); }
var sum = 0.0;
let po = a.probs + block + row * L;
for (var j = 0u; j < L; j++) {
  let e = exp(score(qo, start, j, K, hc) - m);
  heap[po + j] = e;
  sum += e;
}
let inv = 1.0 / sum;
for (var j = 0u; j < L; j++) { heap[po + j] = heap[po + j] * inv; }
for (var d = 0u; d < a.D; d++) {
  var acc = 0.0;
  for (var j = 0u; j < L; j++) { acc += heap[po + j] * heap[a.v + (start + j) * a.C + hc + d]; }
  heap[a.out + qo + d] = acc;
}`,
  SCORE,
);

const BACKWARD_ARGS =
  "dq: u32, dk: u32, dv: u32, dout: u32, probs: u32, q: u32, k: u32, v: u32, ds: u32, rows: u32, T: u32, C: u32, H: u32, D: u32, scale: f32,";

export const ATTENTION_BACKWARD_QUERY = perInvocation(
  BACKWARD_ARGS,
  "idx",
  "a.T * a.H",
  /* wgsl */ `${ROW_HEAD}
let qo = t * a.C + hc;
if (L == 0u) {
  for (var d = 0u; d < a.D; d++) { heap[a.dq + qo + d] = 0.0; }
  return;
}
let po = block + row * L;
// dp_j into the ds scratch first, with sum_j p_ij dp_j
var dot = 0.0;
for (var j = 0u; j < L; j++) {
  let vo = (start + j) * a.C + hc;
  var g = 0.0;
  for (var d = 0u; d < a.D; d++) { g += heap[a.dout + qo + d] * heap[a.v + vo + d]; }
  heap[a.ds + po + j] = g;
  dot += heap[a.probs + po + j] * g;
}
for (var j = 0u; j < L; j++) {
  var s = 0.0;
  if (j < K) { s = heap[a.probs + po + j] * (heap[a.ds + po + j] - dot) * a.scale; }
  heap[a.ds + po + j] = s;
}
for (var d = 0u; d < a.D; d++) {
  var acc = 0.0;
  for (var j = 0u; j < K; j++) { acc += heap[a.ds + po + j] * heap[a.k + (start + j) * a.C + hc + d]; }
  heap[a.dq + qo + d] = acc;
}`,
);

export const ATTENTION_BACKWARD_KEY = perInvocation(
  BACKWARD_ARGS,
  "idx",
  "a.T * a.H",
  /* wgsl */ `${ROW_HEAD}
let ko = t * a.C + hc;
for (var d = 0u; d < a.D; d++) {
  var accV = 0.0;
  var accK = 0.0;
  for (var i = 0u; i < L; i++) {
    let qo = (start + i) * a.C + hc;
    let po = block + i * L + row; // weight of query i on this key
    accV += heap[a.probs + po] * heap[a.dout + qo + d];
    accK += heap[a.ds + po] * heap[a.q + qo + d];
  }
  heap[a.dv + ko + d] = accV;
  heap[a.dk + ko + d] = accK;
}`,
);
