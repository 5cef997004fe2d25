/**
 * The plain TypeScript implementation of `Backend`: one thread, ordinary `Float32Array`s.
 *
 * It is the reference the other backends are tested against, and fast enough to train the
 * tutorial's model on its own (matrix products through the register-tiled `gemm`). Sums that span
 * many elements (layer-norm statistics, bias and gain gradients, softmax denominators) run in
 * float64. Kernels allocate nothing except small float64 scratch rows that grow once to the largest
 * size seen and are then reused.
 */
import {
  dropoutHash,
  dropoutScale,
  dropoutThreshold,
  GELU_A,
  GELU_B,
  type AdamHyper,
  type Backend,
} from "./backend.js";
import { checkAttention, checkDecayMask, checkLabels } from "./checks.js";
import { gemm } from "./gemm.js";

/** Score given to padded keys before the softmax (the tutorial's mask value). */
const MASKED_SCORE = -1e9;

/**
 * Single-threaded TypeScript kernels.
 *
 * @example
 *   const be = new TsBackend();
 *   const x = be.alloc(2 * 3), w = be.alloc(3 * 4), y = be.alloc(2 * 4);
 *   be.matmul(y, x, w, null, 2, 3, 4); // y[2,4] = x[2,3] @ w[3,4]
 */
/** out[t, n] += bias[n] for the T rows of N columns. */
function addBias(out: Float32Array, bias: Float32Array, T: number, N: number): void {
  for (let t = 0; t < T; t++) {
    const o = t * N;
    for (let n = 0; n < N; n++) out[o + n] += bias[n];
  }
}

export class TsBackend implements Backend {
  readonly name = "ts";
  readonly kernels = "ts";
  readonly threads = 1;
  /** Float64 scratch (bias / gain gradient sums, attention rows); grows, never shrinks. */
  private scratchA = new Float64Array(0);
  private scratchB = new Float64Array(0);

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  allocInt(n: number): Int32Array {
    return new Int32Array(n);
  }

  private scratch(n: number): Float64Array {
    if (this.scratchA.length < n) this.scratchA = new Float64Array(n);
    return this.scratchA;
  }

  private scratch2(n: number): Float64Array {
    if (this.scratchB.length < n) this.scratchB = new Float64Array(n);
    return this.scratchB;
  }

  matmul(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    // out[T,N] = inp[T,K] @ w[K,N]
    gemm(out, N, false, inp, K, 1, w, N, 1, T, N, K);
    if (bias !== null) addBias(out, bias, T, N);
  }

  matmulTransposed(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void {
    // out[T,N] = inp[T,K] @ w[N,K]^T: w read with strides (1, K)
    gemm(out, N, false, inp, K, 1, w, 1, K, T, N, K);
    if (bias !== null) addBias(out, bias, T, N);
  }

  matmulBackward(
    dinp: Float32Array | null,
    dw: Float32Array,
    dbias: Float32Array | null,
    dout: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    T: number,
    K: number,
    N: number,
    accumulateDinp = false,
  ): void {
    // dinp[T,K] (+)= dout[T,N] @ w[K,N]^T
    if (dinp !== null) gemm(dinp, K, accumulateDinp, dout, N, 1, w, 1, N, T, K, N);
    // dw[K,N] += inp[T,K]^T @ dout[T,N]
    gemm(dw, N, true, inp, 1, K, dout, N, 1, K, N, T);
    if (dbias !== null) {
      const acc = this.scratch(N);
      acc.fill(0, 0, N);
      for (let t = 0; t < T; t++) {
        const o = t * N;
        for (let n = 0; n < N; n++) acc[n] += dout[o + n];
      }
      for (let n = 0; n < N; n++) dbias[n] += acc[n];
    }
  }

  layerNormForward(
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    inp: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    T: number,
    C: number,
    eps: number,
  ): void {
    for (let t = 0; t < T; t++) {
      const o = t * C;
      let s = 0;
      for (let c = 0; c < C; c++) s += inp[o + c];
      const m = s / C;
      let v = 0;
      for (let c = 0; c < C; c++) {
        const d = inp[o + c] - m;
        v += d * d;
      }
      const r = 1 / Math.sqrt(v / C + eps);
      for (let c = 0; c < C; c++) out[o + c] = (inp[o + c] - m) * r * gamma[c] + beta[c];
      mean[t] = m;
      rstd[t] = r;
    }
  }

  layerNormBackward(
    dinp: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dout: Float32Array,
    inp: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    T: number,
    C: number,
  ): void {
    const dg = this.scratch(C);
    const db = this.scratch2(C);
    dg.fill(0, 0, C);
    db.fill(0, 0, C);
    for (let t = 0; t < T; t++) {
      const o = t * C;
      const m = mean[t];
      const r = rstd[t];
      // dnorm = dout * gamma; dinp = r * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
      let sumD = 0;
      let sumDN = 0;
      for (let c = 0; c < C; c++) {
        const g = dout[o + c];
        const norm = (inp[o + c] - m) * r;
        const dn = g * gamma[c];
        sumD += dn;
        sumDN += dn * norm;
        db[c] += g;
        dg[c] += g * norm;
      }
      const meanD = sumD / C;
      const meanDN = sumDN / C;
      for (let c = 0; c < C; c++) {
        const norm = (inp[o + c] - m) * r;
        dinp[o + c] = r * (dout[o + c] * gamma[c] - meanD - norm * meanDN);
      }
    }
    for (let c = 0; c < C; c++) {
      dgamma[c] += dg[c];
      dbeta[c] += db[c];
    }
  }

  attentionForward(
    out: Float32Array,
    probs: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    seqs: Int32Array,
    numSeqs: number,
    T: number,
    C: number,
    H: number,
  ): void {
    checkAttention("attentionForward", seqs, numSeqs, T, C, H);
    const D = C / H;
    const scale = 1 / Math.sqrt(D);
    const row = this.scratch(maxSeqLen(seqs, numSeqs));
    out.fill(0, 0, T * C);
    let pBase = 0;
    for (let s = 0; s < numSeqs; s++) {
      const start = seqs[3 * s];
      const L = seqs[3 * s + 1];
      const K = seqs[3 * s + 2];
      for (let h = 0; h < H; h++) {
        const hc = h * D;
        for (let i = 0; i < L; i++) {
          const qo = (start + i) * C + hc;
          // scores[j] = q_i . k_j / sqrt(D) for real keys, MASKED_SCORE for padded ones
          let max = -Infinity;
          for (let j = 0; j < L; j++) {
            let sc = MASKED_SCORE;
            if (j < K) {
              const ko = (start + j) * C + hc;
              let dot = 0;
              for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
              sc = dot * scale;
            }
            row[j] = sc;
            if (sc > max) max = sc;
          }
          let sum = 0;
          for (let j = 0; j < L; j++) {
            const e = Math.exp(row[j] - max);
            row[j] = e;
            sum += e;
          }
          const inv = 1 / sum;
          const po = pBase + i * L;
          for (let j = 0; j < L; j++) {
            const p = row[j] * inv;
            probs[po + j] = p;
            if (p === 0) continue;
            const vo = (start + j) * C + hc;
            for (let d = 0; d < D; d++) out[qo + d] += p * v[vo + d];
          }
        }
        pBase += L * L;
      }
    }
  }

  attentionBackward(
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dout: Float32Array,
    probs: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    seqs: Int32Array,
    numSeqs: number,
    T: number,
    C: number,
    H: number,
  ): void {
    checkAttention("attentionBackward", seqs, numSeqs, T, C, H);
    const D = C / H;
    const scale = 1 / Math.sqrt(D);
    const dp = this.scratch(maxSeqLen(seqs, numSeqs));
    dq.fill(0, 0, T * C);
    dk.fill(0, 0, T * C);
    dv.fill(0, 0, T * C);
    let pBase = 0;
    for (let s = 0; s < numSeqs; s++) {
      const start = seqs[3 * s];
      const L = seqs[3 * s + 1];
      const K = seqs[3 * s + 2];
      for (let h = 0; h < H; h++) {
        const hc = h * D;
        for (let i = 0; i < L; i++) {
          const qo = (start + i) * C + hc;
          const po = pBase + i * L;
          // dprobs[j] = dout_i . v_j ; dv_j += p_ij dout_i
          let dot = 0;
          for (let j = 0; j < L; j++) {
            const vo = (start + j) * C + hc;
            const p = probs[po + j];
            let g = 0;
            for (let d = 0; d < D; d++) {
              g += dout[qo + d] * v[vo + d];
              dv[vo + d] += p * dout[qo + d];
            }
            dp[j] = g;
            dot += p * g;
          }
          // dscores[j] = p_ij (dprobs[j] - sum_l p_il dprobs[l]); padded keys have constant scores.
          for (let j = 0; j < K; j++) {
            const ds = probs[po + j] * (dp[j] - dot) * scale;
            if (ds === 0) continue;
            const ko = (start + j) * C + hc;
            for (let d = 0; d < D; d++) {
              dq[qo + d] += ds * k[ko + d];
              dk[ko + d] += ds * q[qo + d];
            }
          }
        }
        pBase += L * L;
      }
    }
  }

  crossEntropy(
    losses: Float32Array,
    dlogits: Float32Array | null,
    logits: Float32Array,
    labels: Int32Array,
    R: number,
    V: number,
    gradScale: number,
  ): void {
    checkLabels(labels, R, V);
    for (let r = 0; r < R; r++) {
      const o = r * V;
      const label = labels[r];
      if (label < 0) {
        losses[r] = 0;
        if (dlogits !== null) dlogits.fill(0, o, o + V);
        continue;
      }
      let max = -Infinity;
      for (let c = 0; c < V; c++) if (logits[o + c] > max) max = logits[o + c];
      const target = logits[o + label]; // read before dlogits (possibly the same array) is written
      let sum = 0;
      if (dlogits === null) {
        for (let c = 0; c < V; c++) sum += Math.exp(logits[o + c] - max);
      } else {
        // keep exp(logit - max) in dlogits, then scale it into the softmax: one exp per logit
        for (let c = 0; c < V; c++) {
          const e = Math.exp(logits[o + c] - max);
          dlogits[o + c] = e;
          sum += e;
        }
        const inv = gradScale / sum;
        for (let c = 0; c < V; c++) dlogits[o + c] *= inv;
        dlogits[o + label] -= gradScale;
      }
      losses[r] = Math.log(sum) + max - target;
    }
  }

  sumSquares(x: Float32Array, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  }

  adamUpdate(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    hyper: AdamHyper,
    decayMask: Uint8Array | null,
  ): void {
    const { learningRate, beta1, beta2, eps, step, gradScale, weightDecay } = hyper;
    const c1 = 1 / (1 - Math.pow(beta1, step));
    const c2 = 1 / (1 - Math.pow(beta2, step));
    const decay = weightDecay > 0;
    checkDecayMask(weightDecay, decayMask, n);
    for (let i = 0; i < n; i++) {
      const g = grads[i] * gradScale;
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      const p = params[i];
      let u = (mi * c1) / (Math.sqrt(vi * c2) + eps);
      if (decay && decayMask![i] === 1) u += weightDecay * p;
      params[i] = p - learningRate * u;
    }
  }

  scaleAdd(out: Float32Array, x: Float32Array, n: number, w: number, accumulate: boolean): void {
    const ws = Math.fround(w);
    // float32 product, then a sum of two float32 values rounded once on store (exact as float32 ops)
    if (accumulate) for (let i = 0; i < n; i++) out[i] = out[i] + Math.fround(ws * x[i]);
    else for (let i = 0; i < n; i++) out[i] = ws * x[i];
  }

  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void {
    const th = dropoutThreshold(p);
    const s = dropoutScale(p);
    if (th === 0) {
      if (out !== inp) out.set(inp.subarray(0, n));
      return;
    }
    for (let i = 0; i < n; i++) out[i] = dropoutHash(seed, i) >= th ? inp[i] * s : 0;
  }

  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void {
    const th = dropoutThreshold(p);
    const s = dropoutScale(p);
    // the product rounded to float32 before the sum, and a + 0 for dropped units: the float32 steps
    // of the SIMD kernels, so both backends give the same bits
    for (let i = 0; i < n; i++) out[i] = a[i] + (dropoutHash(seed, i) >= th ? Math.fround(b[i] * s) : 0);
  }

  reluDropout(x: Float32Array, n: number, p: number, seed: number): void {
    const th = dropoutThreshold(p);
    const s = dropoutScale(p);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      x[i] = v > 0 && (th === 0 || dropoutHash(seed, i) >= th) ? v * s : 0;
    }
  }

  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
    const sc = Math.fround(scale);
    for (let i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] * sc : 0;
  }

  gelu(out: Float32Array, inp: Float32Array, n: number): void {
    const f = Math.fround;
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      const z = f(x * f(GELU_A + f(GELU_B * f(x * x))));
      out[i] = x * f(1 / f(1 + f(Math.exp(-z))));
    }
  }

  geluBackward(d: Float32Array, inp: Float32Array, n: number): void {
    const f = Math.fround;
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      const x2 = f(x * x);
      const s = f(1 / f(1 + f(Math.exp(-f(x * f(GELU_A + f(GELU_B * x2)))))));
      const slope = f(GELU_A + f(3 * f(GELU_B * x2)));
      d[i] = d[i] * f(s + f(f(x * f(s * f(1 - s))) * slope));
    }
  }

  embeddingForward(
    out: Float32Array,
    ids: Int32Array,
    positions: Int32Array,
    table: Float32Array,
    pe: Float32Array,
    T: number,
    C: number,
    scale: number,
  ): void {
    const sc = Math.fround(scale);
    for (let t = 0; t < T; t++) {
      const e = ids[t] * C;
      const q = positions[t] * C;
      const o = t * C;
      // rounded product first, then the sum: the float32 steps of the SIMD kernels
      for (let c = 0; c < C; c++) out[o + c] = Math.fround(table[e + c] * sc) + pe[q + c];
    }
  }

  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const src = rows[r] * C;
      const dst = r * C;
      for (let c = 0; c < C; c++) out[dst + c] = inp[src + c];
    }
  }

  scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number, scale: number): void {
    const sc = Math.fround(scale);
    for (let r = 0; r < R; r++) {
      const o = rows[r] * C;
      const i = r * C;
      for (let c = 0; c < C; c++) dinp[o + c] += Math.fround(dout[i + c] * sc);
    }
  }

  dispose(): void {
    this.scratchA = new Float64Array(0);
    this.scratchB = new Float64Array(0);
  }
}

/** Largest L over the first numSeqs sequences (at least 1). */
function maxSeqLen(seqs: Int32Array, numSeqs: number): number {
  let m = 1;
  for (let s = 0; s < numSeqs; s++) if (seqs[3 * s + 1] > m) m = seqs[3 * s + 1];
  return m;
}
