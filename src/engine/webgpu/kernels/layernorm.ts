/**
 * Layer normalisation over the last axis (reference: layerNormForward and layerNormBackward of
 * src/engine/ts-backend.ts), float32 sums where the reference uses float64.
 *
 *   forward:  out[t,c] = (x[t,c] - mean_t) * rstd_t * gamma[c] + beta[c],
 *             mean_t = sum_c x / C, rstd_t = 1 / sqrt(sum_c (x - mean_t)^2 / C + eps)
 *   backward: norm = (x - mean) * rstd; dn = dout * gamma
 *             dinp[t,c] = rstd * (dn - mean_c(dn) - norm * mean_c(dn * norm))     (overwritten)
 *             dgamma[c] += sum_t dout * norm;  dbeta[c] += sum_t dout               (accumulated)
 *
 * The backward is two kernels: the parameter gradients (one invocation per column) first, then the
 * input gradient (one per row), so that dinp may be the same array as dout.
 */
import { perInvocation } from "./prelude.js";

export const LAYER_NORM_FORWARD = perInvocation(
  "out: u32, mean: u32, rstd: u32, inp: u32, gamma: u32, beta: u32, T: u32, C: u32, eps: f32,",
  "t",
  "a.T",
  /* wgsl */ `
let o = t * a.C;
var s = 0.0;
for (var c = 0u; c < a.C; c++) { s += heap[a.inp + o + c]; }
let m = s / f32(a.C);
var v = 0.0;
for (var c = 0u; c < a.C; c++) { let d = heap[a.inp + o + c] - m; v += d * d; }
let r = 1.0 / sqrt(v / f32(a.C) + a.eps);
for (var c = 0u; c < a.C; c++) {
  heap[a.out + o + c] = (heap[a.inp + o + c] - m) * r * heap[a.gamma + c] + heap[a.beta + c];
}
heap[a.mean + t] = m;
heap[a.rstd + t] = r;`,
);

export const LAYER_NORM_BACKWARD_PARAMS = perInvocation(
  "dgamma: u32, dbeta: u32, dout: u32, inp: u32, mean: u32, rstd: u32, T: u32, C: u32,",
  "c",
  "a.C",
  /* wgsl */ `
var dg = 0.0;
var db = 0.0;
for (var t = 0u; t < a.T; t++) {
  let g = heap[a.dout + t * a.C + c];
  let norm = (heap[a.inp + t * a.C + c] - heap[a.mean + t]) * heap[a.rstd + t];
  dg += g * norm;
  db += g;
}
heap[a.dgamma + c] = heap[a.dgamma + c] + dg;
heap[a.dbeta + c] = heap[a.dbeta + c] + db;`,
);

export const LAYER_NORM_BACKWARD_INPUT = perInvocation(
  "dinp: u32, dout: u32, inp: u32, gamma: u32, mean: u32, rstd: u32, T: u32, C: u32,",
  "t",
  "a.T",
  /* wgsl */ `
let o = t * a.C;
let m = heap[a.mean + t];
let r = heap[a.rstd + t];
var sumD = 0.0;
var sumDN = 0.0;
for (var c = 0u; c < a.C; c++) {
  let dn = heap[a.dout + o + c] * heap[a.gamma + c];
  sumD += dn;
  sumDN += dn * ((heap[a.inp + o + c] - m) * r);
}
let meanD = sumD / f32(a.C);
let meanDN = sumDN / f32(a.C);
for (var c = 0u; c < a.C; c++) {
  let norm = (heap[a.inp + o + c] - m) * r;
  heap[a.dinp + o + c] = r * (heap[a.dout + o + c] * heap[a.gamma + c] - meanD - norm * meanDN);
}`,
);
