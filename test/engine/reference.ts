/**
 * Naive float64 reference kernels (the formulas written out plainly) and a finite-difference
 * helper, shared by the backend tests. Arrays are plain `number[]`/`Float64Array` in float64.
 */

/** out[T,N] = inp[T,K] @ w[K,N] + bias */
export function refMatmul(
  inp: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  T: number,
  K: number,
  N: number,
): Float64Array {
  const out = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = bias === null ? 0 : bias[n];
      for (let k = 0; k < K; k++) s += inp[t * K + k] * w[k * N + n];
      out[t * N + n] = s;
    }
  }
  return out;
}

/** Layer norm over rows of C features. */
export function refLayerNorm(
  inp: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  T: number,
  C: number,
  eps: number,
): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += inp[t * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (inp[t * C + c] - m) ** 2;
    v /= C;
    for (let c = 0; c < C; c++) out[t * C + c] = ((inp[t * C + c] - m) / Math.sqrt(v + eps)) * gamma[c] + beta[c];
  }
  return out;
}

/** Multi-head attention per sequence, padded keys (j >= K) scored -1e9; returns out and probs. */
export function refAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  seqs: ArrayLike<number>,
  numSeqs: number,
  T: number,
  C: number,
  H: number,
): { out: Float64Array; probs: number[] } {
  const D = C / H;
  const out = new Float64Array(T * C);
  const probs: number[] = [];
  for (let s = 0; s < numSeqs; s++) {
    const start = seqs[3 * s],
      L = seqs[3 * s + 1],
      K = seqs[3 * s + 2];
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const sc: number[] = [];
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(start + i) * C + h * D + d] * k[(start + j) * C + h * D + d];
          sc.push(j < K ? dot / Math.sqrt(D) : -1e9);
        }
        const mx = Math.max(...sc);
        const e = sc.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < L; j++) {
          const p = e[j] / z;
          probs.push(p);
          for (let d = 0; d < D; d++) out[(start + i) * C + h * D + d] += p * v[(start + j) * C + h * D + d];
        }
      }
    }
  }
  return { out, probs };
}

/** Per-row softmax cross-entropy; rows with a negative label give 0. */
export function refCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  R: number,
  V: number,
): Float64Array {
  const out = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const lab = labels[r];
    if (lab < 0) continue;
    let mx = -Infinity;
    for (let c = 0; c < V; c++) mx = Math.max(mx, logits[r * V + c]);
    let z = 0;
    for (let c = 0; c < V; c++) z += Math.exp(logits[r * V + c] - mx);
    out[r] = Math.log(z) + mx - logits[r * V + lab];
  }
  return out;
}

/**
 * Central-difference gradient of f at x (float64), perturbing x in place and restoring it.
 * Returns d f / d x[i] for every i in `indices` (all when omitted).
 */
export function numericGrad(f: () => number, x: Float64Array | number[], h = 1e-6, indices?: number[]): Float64Array {
  const idx = indices ?? Array.from({ length: x.length }, (_, i) => i);
  const g = new Float64Array(idx.length);
  idx.forEach((i, n) => {
    const old = x[i];
    x[i] = old + h;
    const fp = f();
    x[i] = old - h;
    const fm = f();
    x[i] = old;
    g[n] = (fp - fm) / (2 * h);
  });
  return g;
}

/** Sum of a[i] * b[i]. */
export function dotAll(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Largest |a - b| / (atol + rtol * |b|) over all elements; <= 1 means within tolerance. */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(r <= w)) w = Number.isNaN(r) ? Infinity : Math.max(w, r);
  }
  return w;
}

/** Random values in [-scale, scale) from a tiny deterministic generator (mulberry32). */
export function randomArray(n: number, seed: number, scale = 1): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
