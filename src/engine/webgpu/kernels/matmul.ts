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
 * An invocation computes a 4 x 4 block of C in registers (four vec4 accumulators), walking P once:
 * each step loads 4 values of A and 4 of B for 16 multiply-adds. A workgroup of 8 x 8 invocations
 * covers a 32 x 32 tile; rows and columns past the edges read the last valid ones and are not stored.
 * No workgroup memory and no barriers: the loads of neighbouring invocations meet in the cache. The
 * sums are float32, in the order of p (the reference sums in float64: results agree to float32
 * rounding of the sum).
 */
import { kernelSource, perInvocation } from "./prelude.js";

/** Side of the square tile of C one workgroup computes (8 x 8 invocations of 4 x 4 each). */
export const MATMUL_TILE = 32;

export const MATMUL = kernelSource(
  `c: u32, ldc: u32, accumulate: u32, bias: u32,
  a: u32, aRow: u32, aP: u32,
  b: u32, bP: u32, bCol: u32,
  M: u32, N: u32, P: u32,`,
  /* wgsl */ `
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i0 = (wg.y * 8u + l.y) * 4u;
  let j0 = (wg.x * 8u + l.x) * 4u;
  if (i0 >= a.M || j0 >= a.N) { return; }
  // the block's rows and columns, clamped to the matrix (the extra ones are computed, not stored)
  let rowA = vec4<u32>(min(vec4<u32>(i0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(a.M - 1u))) * a.aRow + a.a;
  let colB = vec4<u32>(min(vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(a.N - 1u))) * a.bCol + a.b;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var p = 0u; p < a.P; p++) {
    let pa = p * a.aP;
    let pb = p * a.bP;
    let y = vec4<f32>(heap[colB.x + pb], heap[colB.y + pb], heap[colB.z + pb], heap[colB.w + pb]);
    acc0 += heap[rowA.x + pa] * y;
    acc1 += heap[rowA.y + pa] * y;
    acc2 += heap[rowA.z + pa] * y;
    acc3 += heap[rowA.w + pa] * y;
  }
  var bias = vec4<f32>(0.0);
  if (a.bias != 0xffffffffu) {
    let bc = min(vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(a.N - 1u)) + a.bias;
    bias = vec4<f32>(heap[bc.x], heap[bc.y], heap[bc.z], heap[bc.w]);
  }
  let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= a.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + c;
      if (j >= a.N) { break; }
      let o = a.c + i * a.ldc + j;
      var v = rows[r][c];
      if (a.bias != 0xffffffffu) { v = v + bias[c]; }
      if (a.accumulate != 0u) { v = heap[o] + v; }
      heap[o] = v;
    }
  }
}`,
);

/**
 * dbias[n] += sum over t < T of dout[t * N + n] (matmulBackward's bias gradient), one invocation per
 * column summing its rows in order.
 */
export const BIAS_GRAD = perInvocation(
  "dbias: u32, dout: u32, T: u32, N: u32,",
  "n",
  "a.N",
  /* wgsl */ `
var sum = 0.0;
for (var t = 0u; t < a.T; t++) { sum += heap[a.dout + t * a.N + n]; }
heap[a.dbias + n] = heap[a.dbias + n] + sum;`,
);
