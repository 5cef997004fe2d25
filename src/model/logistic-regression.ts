/**
 * L2-regularised logistic regression as scikit-learn's `LogisticRegression()` fits it with its
 * defaults (C = 1, lbfgs, at most 100 iterations, stopping when every gradient entry is below 1e-4):
 * minimise  C * sum_i CE(softmax(x_i W + b), y_i) + 0.5 * ||W||^2   (the intercept b not penalised).
 * Two classes use one weight vector (the logit of class 1, class 0's fixed at 0), as scikit-learn's
 * binomial model; more classes the multinomial model, one column per class.
 *
 * Written here because the npm libraries for it fit dense matrices by plain gradient descent without
 * the penalty (ml-logistic-regression), while TF-IDF rows are sparse (10,000 columns).
 */
import type { SparseRows } from "./tfidf.js";

export interface LogisticRegressionOptions {
  /** Inverse of the L2 strength (scikit-learn's C). Default 1. */
  C?: number;
  /** L-BFGS iterations. Default 100. */
  maxIterations?: number;
  /** Stop when the largest gradient entry is below this. Default 1e-4. */
  tolerance?: number;
}

/**
 * @example
 *   const lr = LogisticRegression.fit(X, labels, 2);
 *   lr.predict(Xvalid);   // Int32Array of class ids
 */
export class LogisticRegression {
  private constructor(
    /** [width * cols + cols]: W row-major [width, cols], then b [cols] */
    private readonly theta: Float64Array,
    readonly numClasses: number,
    private readonly width: number,
    /** Iterations run. */
    readonly iterations: number,
  ) {}

  static fit(
    X: SparseRows,
    labels: ArrayLike<number>,
    numClasses: number,
    options: LogisticRegressionOptions = {},
  ): LogisticRegression {
    const cols = numClasses === 2 ? 1 : numClasses;
    const objective = (theta: Float64Array, grad: Float64Array): number =>
      lossAndGradient(theta, grad, X, labels, numClasses, cols, options.C ?? 1);
    const theta = new Float64Array(X.width * cols + cols);
    const iterations = lbfgs(objective, theta, options.maxIterations ?? 100, options.tolerance ?? 1e-4);
    return new LogisticRegression(theta, numClasses, X.width, iterations);
  }

  /** The weights W [width, cols] row-major and intercepts b [cols] (cols = 1 for two classes). */
  coefficients(): { W: Float64Array; b: Float64Array; cols: number } {
    const cols = this.numClasses === 2 ? 1 : this.numClasses;
    const n = this.width * cols;
    return { W: this.theta.slice(0, n), b: this.theta.slice(n), cols };
  }

  /** Class probabilities [rows, numClasses]. */
  predictProba(X: SparseRows): Float64Array {
    const K = this.numClasses;
    const cols = K === 2 ? 1 : K;
    const out = new Float64Array(X.rows * K);
    const z = new Float64Array(K);
    for (let r = 0; r < X.rows; r++) {
      logitsOf(this.theta, X, r, cols, this.width, z);
      softmaxInto(z, K, out, r * K);
    }
    return out;
  }

  predict(X: SparseRows): Int32Array {
    const p = this.predictProba(X);
    const K = this.numClasses;
    return Int32Array.from({ length: X.rows }, (_, r) => {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[r * K + k] > p[r * K + best]) best = k;
      return best;
    });
  }
}

/** Logits of row r into z [K] (binary: z = [0, x w + b]). */
function logitsOf(theta: Float64Array, X: SparseRows, r: number, cols: number, width: number, z: Float64Array): void {
  const binary = cols === 1;
  const off = binary ? 1 : 0;
  if (binary) z[0] = 0;
  for (let k = 0; k < cols; k++) z[off + k] = theta[width * cols + k];
  for (let e = X.rowStart[r]; e < X.rowStart[r + 1]; e++) {
    const base = X.cols[e] * cols;
    const v = X.vals[e];
    for (let k = 0; k < cols; k++) z[off + k] += v * theta[base + k];
  }
}

function softmaxInto(z: Float64Array, K: number, out: Float64Array, o: number): void {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, z[k]);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += out[o + k] = Math.exp(z[k] - max);
  for (let k = 0; k < K; k++) out[o + k] /= sum;
}

/** The objective at theta, its gradient into grad. */
function lossAndGradient(
  theta: Float64Array,
  grad: Float64Array,
  X: SparseRows,
  labels: ArrayLike<number>,
  K: number,
  cols: number,
  C: number,
): number {
  const width = X.width;
  const off = cols === 1 ? 1 : 0;
  const z = new Float64Array(K);
  const p = new Float64Array(K);
  grad.fill(0);
  let loss = 0;
  for (let r = 0; r < X.rows; r++) {
    logitsOf(theta, X, r, cols, width, z);
    softmaxInto(z, K, p, 0);
    const y = labels[r];
    loss -= C * Math.log(Math.max(p[y], 1e-300));
    for (let k = 0; k < cols; k++) {
      const d = C * (p[off + k] - (y === off + k ? 1 : 0)); // d loss / d logit of column k
      grad[width * cols + k] += d;
      for (let e = X.rowStart[r]; e < X.rowStart[r + 1]; e++) grad[X.cols[e] * cols + k] += d * X.vals[e];
    }
  }
  for (let i = 0; i < width * cols; i++) {
    loss += 0.5 * theta[i] * theta[i];
    grad[i] += theta[i];
  }
  return loss;
}

/**
 * Minimises f with L-BFGS (memory 10, backtracking line search on the Armijo condition), starting from
 * and updating x in place. Returns the iterations run.
 */
function lbfgs(
  f: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  maxIterations: number,
  tolerance: number,
): number {
  const n = x.length;
  const m = 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const g = new Float64Array(n);
  let fx = f(x, g);
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  let it = 0;
  for (; it < maxIterations; it++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax < tolerance) break;
    // two-loop recursion: d = -H g
    const d = Float64Array.from(g, (v) => -v);
    const alpha: number[] = [];
    for (let j = S.length - 1; j >= 0; j--) {
      const a = dot(S[j], d) / dot(Y[j], S[j]);
      alpha[j] = a;
      for (let i = 0; i < n; i++) d[i] -= a * Y[j][i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    } else {
      const norm = Math.sqrt(dot(g, g));
      for (let i = 0; i < n; i++) d[i] /= Math.max(norm, 1);
    }
    for (let j = 0; j < S.length; j++) {
      const b = dot(Y[j], d) / dot(Y[j], S[j]);
      for (let i = 0; i < n; i++) d[i] += S[j][i] * (alpha[j] - b);
    }
    const slope = dot(g, d);
    let step = 1;
    let fNew = 0;
    for (let tries = 0; tries < 40; tries++, step *= 0.5) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
    }
    if (!(fNew < fx)) break; // no progress along d: at the optimum to float precision
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    if (dot(s, y) > 1e-12) {
      S.push(s);
      Y.push(y);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
  }
  return it;
}
