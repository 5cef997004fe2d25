/**
 * Matrix products (reference: `gemm` in src/engine/gemm.ts, which TsBackend's matmul,
 * matmulTransposed and matmulBackward call with the strides of each layout), and the bias gradient.
 *
 * One strided kernel serves the three layouts, as gemm does:
 *
 *   C[i * ldc + j] (= or +=) sum over p < P of A[i * aRow + p * aP] * B[p * bP + j * bCol]  (+ bias[j])
 *   for i < M, j < N
 *
 *   out[T,N]  = inp[T,K] @ w[K,N]      A = inp (K, 1),  B = w (N, 1)
 *   out[T,N]  = inp[T,K] @ w[N,K]^T    A = inp (K, 1),  B = w (1, K)
 *   dinp[T,K] = dout[T,N] @ w[K,N]^T   A = dout (N, 1), B = w (1, N)
 *   dw[K,N]  += inp[T,K]^T @ dout      A = inp (1, K),  B = dout (N, 1)
 *
 * A workgroup computes a 16 x 16 tile of C, walking P in steps of 16 through workgroup memory; the
 * sums are float32 (the reference sums in float64: results agree to float32 rounding of the sum).
 */
import { kernelSource } from "./prelude.js";

/** Side of the square tile of C one workgroup computes. */
export const MATMUL_TILE = 16;

export const MATMUL = kernelSource(
  `c: u32, ldc: u32, accumulate: u32, bias: u32,
  a: u32, aRow: u32, aP: u32,
  b: u32, bP: u32, bCol: u32,
  M: u32, N: u32, P: u32,`,
  /* wgsl */ `
var<workgroup> tileA: array<array<f32, 16>, 16>; // tileA[r][p]: A[i0 + r, p0 + p]
var<workgroup> tileB: array<array<f32, 16>, 16>; // tileB[p][c]: B[p0 + p, j0 + c]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = wg.y * 16u + l.y;
  let j = wg.x * 16u + l.x;
  var sum = 0.0;
  for (var p0 = 0u; p0 < a.P; p0 += 16u) {
    var x = 0.0;
    if (i < a.M && p0 + l.x < a.P) { x = heap[a.a + i * a.aRow + (p0 + l.x) * a.aP]; }
    tileA[l.y][l.x] = x;
    var y = 0.0;
    if (j < a.N && p0 + l.y < a.P) { y = heap[a.b + (p0 + l.y) * a.bP + j * a.bCol]; }
    tileB[l.y][l.x] = y;
    workgroupBarrier();
    for (var p = 0u; p < 16u; p++) { sum += tileA[l.y][p] * tileB[p][l.x]; }
    workgroupBarrier();
  }
  if (i >= a.M || j >= a.N) { return; }
  let o = a.c + i * a.ldc + j;
  var v = sum;
  if (a.bias != 0xffffffffu) { v = v + heap[a.bias + j]; }
  if (a.accumulate != 0u) { v = heap[o] + v; }
  heap[o] = v;
}`,
);

/**
 * dbias[n] += sum over t < T of dout[t * N + n] (matmulBackward's bias gradient), one invocation per
 * column summing its rows in order.
 */
export const BIAS_GRAD = kernelSource(
  "dbias: u32, dout: u32, T: u32, N: u32,",
  /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) local: u32) {
  let n = flatIndex(wg, groups, local);
  if (n >= a.N) { return; }
  var sum = 0.0;
  for (var t = 0u; t < a.T; t++) { sum += heap[a.dout + t * a.N + n]; }
  heap[a.dbias + n] = heap[a.dbias + n] + sum;
}`,
);
