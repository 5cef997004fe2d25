/**
 * The kernel interface: every heavy computation of the model goes through a `Backend`.
 *
 * Two implementations, chosen by `createBackend` (create.ts): `TsBackend` (ts-backend.ts, plain
 * TypeScript, the reference that tests compare against) and the WebAssembly SIMD backend spread over
 * worker threads (wasm/wasm-backend.ts). The model code never knows which one runs.
 *
 * Memory rule: every array handed to a kernel must come from the same backend's `alloc`/`allocInt`
 * (a WebAssembly backend hands out views of its shared memory and reads their `byteOffset`).
 * Subarrays of those are fine. Kernels never allocate; callers size buffers once and reuse them.
 *
 * Layout: row-major. Activations are packed rows: T rows (tokens) of C features. Linear weights are
 * [in, out] (Haiku's layout), so y = x @ w + b.
 *
 * Sequences: attention runs per sequence on packed rows. `seqs` holds, for each sequence i,
 * three int32 values: seqs[3i] = first row, seqs[3i+1] = number of rows L (queries and keys),
 * seqs[3i+2] = number of valid keys K <= L (keys j >= K are padding: their score is set to -1e9
 * before the softmax, as the tutorial's mask does). Unpadded batches have K = L.
 */
export interface Backend {
  /** Display name: the kernels and the thread count, e.g. "wasm-simd-fmax2". */
  readonly name: string;
  /**
   * Which kernels compute the results: "ts", "wasm-simd" or "wasm-simd-fma". Results depend on it
   * in their last bits (fused multiply-add rounds once, the SIMD sums add in another order), never
   * on the thread count; a run records it to tell when a resumed run changed kernels.
   */
  readonly kernels: string;
  /** Number of threads the kernels use. */
  readonly threads: number;

  /** A zeroed float32 array of n elements living in this backend's memory. */
  alloc(n: number): Float32Array;
  /** A zeroed int32 array of n elements living in this backend's memory. */
  allocInt(n: number): Int32Array;

  /**
   * out[T,N] = inp[T,K] @ w[K,N] (+ bias[N] when bias is not null).
   */
  matmul(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void;

  /**
   * out[T,N] = inp[T,K] @ w[N,K]^T (+ bias[N] when bias is not null): a product with a weight stored
   * [out, in], such as the embedding table [V,C] used as a tied output layer.
   */
  matmulTransposed(
    out: Float32Array,
    inp: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    T: number,
    K: number,
    N: number,
  ): void;

  /**
   * Backward of `matmul`:
   *   dinp[T,K]  = dout[T,N] @ w[K,N]^T          (overwritten, or added to when accumulateDinp is
   *                                              true; skipped when dinp is null)
   *   dw[K,N]   += inp[T,K]^T @ dout[T,N]        (accumulated)
   *   dbias[N]  += sum over rows of dout          (accumulated; skipped when null)
   */
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
    accumulateDinp?: boolean,
  ): void;

  /**
   * Layer normalisation over the last axis, eps inside the square root (Haiku: eps 1e-5).
   * out[T,C] = (inp - mean) * rstd * gamma + beta; mean[T] and rstd[T] are saved for the backward.
   */
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
  ): void;

  /**
   * Backward of `layerNormForward`: dinp[T,C] overwritten; dgamma[C], dbeta[C] accumulated.
   */
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
  ): void;

  /**
   * Multi-head scaled dot-product attention, per sequence (see `seqs` above).
   * q, k, v, out: [T, C] with head h in columns h*D .. h*D+D-1 (D = C / H).
   * probs: softmax weights saved for the backward, for sequence i and head h a [L, L] block; the
   * blocks lie one after another in sequence order, heads inner: size sum(L_i^2) * H.
   * Scores are (q . k) / sqrt(D); no dropout on the weights (as the tutorial).
   */
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
  ): void;

  /** Backward of `attentionForward`: dq, dk, dv [T, C] overwritten. */
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
  ): void;

  /**
   * Softmax cross-entropy over R rows of V logits with integer labels.
   * Writes losses[r] = logsumexp(logits[r]) - logits[r, labels[r]] (numerically stable), and, when
   * dlogits is not null, dlogits[r] = (softmax(logits[r]) - onehot(labels[r])) * gradScale.
   * dlogits may be the logits array itself (computed in place).
   * Rows whose label is negative are ignored: loss 0, gradient 0.
   */
  crossEntropy(
    losses: Float32Array,
    dlogits: Float32Array | null,
    logits: Float32Array,
    labels: Int32Array,
    R: number,
    V: number,
    gradScale: number,
  ): void;

  /** Sum of squares of x[0..n), accumulated in float64 (for the global gradient norm). */
  sumSquares(x: Float32Array, n: number): number;

  /**
   * Adam (optax semantics) on n parameters, gradients scaled first by `gradScale` (global-norm clip):
   *   g = grad * gradScale; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
   *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)      (t = step, starting at 1)
   * With weightDecay > 0 (AdamW), p -= lr * weightDecay * p is applied too, only where
   * decayMask is 1 (decayMask may be null when weightDecay is 0).
   */
  adamUpdate(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    hyper: AdamHyper,
    decayMask: Uint8Array | null,
  ): void;

  /**
   * Scaled accumulation (axpy) for i < n: out[i] = (accumulate ? out[i] : 0) + w * x[i], in float32
   * steps (w rounded to float32, the product rounded, then the sum: the same bits in every backend).
   * out may be x: scaleAdd(x, x, n, w, false) scales x in place. Use: weighted gradient accumulation,
   * acc = scaleAdd(acc, g, n, w, i > 0) over micro-batches.
   */
  scaleAdd(out: Float32Array, x: Float32Array, n: number, w: number, accumulate: boolean): void;

  /**
   * Inverted dropout: out[i] = keep(i) ? inp[i] * s : 0 for i < n, s = dropoutScale(p), where
   * keep(i) = dropoutHash(seed, i) >= dropoutThreshold(p) (see below: counter-based, so the mask
   * depends only on seed and i, never on the thread count). out may be inp. The map is linear with
   * the same mask both ways, so the same call with the same seed is also its backward:
   * dropout(dinp, dout, n, p, seed). p in [0, 1); p = 0 copies.
   */
  dropout(out: Float32Array, inp: Float32Array, n: number, p: number, seed: number): void;

  /** out[i] = a[i] + dropout(b)[i] for i < n (same mask as `dropout` with this seed; out may be a or b). */
  addDropout(out: Float32Array, a: Float32Array, b: Float32Array, n: number, p: number, seed: number): void;

  /**
   * x[i] = dropout(max(x[i], 0)) in place for i < n (same mask as `dropout`); p = 0 is a plain ReLU.
   * The backward needs no mask: see `reluBackward`.
   */
  reluDropout(x: Float32Array, n: number, p: number, seed: number): void;

  /**
   * d[i] = y[i] > 0 ? d[i] * scale : 0 in place, where y is the output of `reluDropout` (a unit is
   * positive exactly where both the ReLU and the dropout let it through); scale = dropoutScale(p).
   */
  reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void;

  /**
   * GELU, tanh-approximated (BERT's, PyTorch's `gelu(x, approximate="tanh")`), in float32 steps:
   *   out[i] = x * s,  s = 1 / (1 + exp(-x * (GELU_A + GELU_B * x^2)))   (x = inp[i], i < n)
   * which is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). out may be inp.
   */
  gelu(out: Float32Array, inp: Float32Array, n: number): void;

  /**
   * Backward of `gelu` at its input: d[i] *= s + x s (1 - s) (GELU_A + 3 GELU_B x^2), x = inp[i]
   * (the input of the forward, kept), s as in `gelu`.
   */
  geluBackward(d: Float32Array, inp: Float32Array, n: number): void;

  /**
   * Token embedding plus positions: out[t,:] = table[ids[t],:] * scale + pe[positions[t],:]
   * out [T,C], ids [T], positions [T], table [V,C], pe [maxLen,C]. Ids and positions are not checked.
   */
  embeddingForward(
    out: Float32Array,
    ids: Int32Array,
    positions: Int32Array,
    table: Float32Array,
    pe: Float32Array,
    T: number,
    C: number,
    scale: number,
  ): void;

  /** out[r,:] = inp[rows[r],:] for r < R (out [R,C]). Rows are not checked. */
  gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void;

  /**
   * dinp[rows[r],:] += dout[r,:] * scale for r < R, in order of r (repeated rows get every
   * contribution): the backward of `gatherRows` (scale 1) and of the embedding lookup (scale as in
   * the forward). Rows are not checked.
   */
  scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number, scale: number): void;

  /** Releases worker threads and memory. The backend is unusable afterwards. */
  dispose(): void;
}

/** 2 sqrt(2/pi), rounded to float32: GELU's sigmoid form multiplies x by it. */
export const GELU_A = Math.fround(2 * Math.sqrt(2 / Math.PI));
/** 2 sqrt(2/pi) * 0.044715, rounded to float32 (the cubic term). */
export const GELU_B = Math.fround(2 * Math.sqrt(2 / Math.PI) * 0.044715);

export interface AdamHyper {
  /** The configuration's learningRate at this step (the schedule's value): the same name from flag to kernel. */
  learningRate: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count after this update. */
  step: number;
  /** Factor applied to the gradients first (global-norm clipping); 1 for none. */
  gradScale: number;
  weightDecay: number;
}

/**
 * The dropout mask's integer hash of (seed, i): murmur3's 32-bit finalizer of seed ^ (i * golden
 * ratio). Every backend computes exactly these bits (32-bit integer arithmetic), so masks are equal
 * across backends and thread counts. Element i is kept iff the hash is >= dropoutThreshold(p).
 */
export function dropoutHash(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** round(p * 2^32): hashes below it are dropped. Throws unless 0 <= p < 1. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: probability must be in [0, 1), got ${p}`);
  return Math.min(Math.round(p * 4294967296), 4294967295);
}

/** The factor of kept units, 1 / (1 - p) rounded to float32 (the value every backend multiplies by). */
export function dropoutScale(p: number): number {
  return Math.fround(1 / (1 - p));
}
