/**
 * The masked-language-model head, on R rows (R = labelled rows with the sparse head, all rows with
 * the full head), C = dModel, V = vocabulary, act = ReLU (the tutorial's) or GELU:
 *
 *   hr     = act(x @ Wd + bd)         [R,C]
 *   hn     = LayerNorm(hr)            [R,C]
 *   logits = hn @ Wo + bo             [R,V]   (Wo [C,V] a tensor of its own), or with a tied output
 *   logits = hn @ E^T + bo            [R,V]   (E [V,C] the embedding table, bo still the head's own)
 *
 * The loss is softmax cross-entropy of logits against labels, summed over labelled rows and
 * divided by their count by the caller (gradScale = 1/count).
 */
import type { Backend } from "../engine/backend.js";
import type { ModelConfig } from "./config.js";
import { tensorView, type ParamSpec } from "./params.js";

/** Views of the head's tensors in a flat buffer. */
export interface HeadTensors {
  dW: Float32Array;
  dB: Float32Array;
  lnS: Float32Array;
  lnO: Float32Array;
  oW: Float32Array;
  oB: Float32Array;
}

/**
 * The head's views in `flat` (parameters or gradients). With a tied output, oW is the embedding
 * [V,C], so the head's gradient adds to the embedding's.
 */
export function headTensors(specs: ParamSpec[], flat: Float32Array, tied: boolean): HeadTensors {
  const v = (name: string): Float32Array => tensorView(specs, flat, name);
  return {
    dW: v("head.dense.weight"),
    dB: v("head.dense.bias"),
    lnS: v("head.ln.scale"),
    lnO: v("head.ln.offset"),
    oW: v(tied ? "embed.weight" : "head.out.weight"),
    oB: v("head.out.bias"),
  };
}

/** The head's buffers, sized for maxRows rows (one chunk of the head). */
export class HeadActivations {
  readonly hx: Float32Array; // [R,C] gathered input rows (sparse head)
  readonly hpre: Float32Array; // [R,C] dense output before GELU (empty with ReLU)
  readonly hr: Float32Array; // [R,C] after dense + activation
  readonly hn: Float32Array; // [R,C] after the layer norm
  readonly mean: Float32Array;
  readonly rstd: Float32Array; // [R]
  readonly logits: Float32Array; // [R,V]; becomes dlogits after the loss
  readonly labels: Int32Array; // [R]
  readonly losses: Float32Array; // [R]
  readonly dhn: Float32Array;
  readonly dhr: Float32Array;
  readonly dhx: Float32Array; // [R,C]
  readonly ones: Float32Array; // [R] ones (tied output: the bias gradient's column sums); else empty
  readonly colSums: Float32Array; // [V] scratch of those column sums; else empty

  constructor(
    be: Backend,
    readonly maxRows: number,
    cfg: ModelConfig,
  ) {
    const { dModel: C, vocabSize: V } = cfg;
    const rc = maxRows * C;
    const tied = cfg.tieOutput;
    this.hx = be.alloc(rc);
    this.hpre = be.alloc(cfg.activation === "gelu" ? rc : 0);
    this.hr = be.alloc(rc);
    this.hn = be.alloc(rc);
    this.mean = be.alloc(maxRows);
    this.rstd = be.alloc(maxRows);
    this.logits = be.alloc(maxRows * V);
    this.labels = be.allocInt(maxRows);
    this.losses = be.alloc(maxRows);
    this.dhn = be.alloc(rc);
    this.dhr = be.alloc(rc);
    this.dhx = be.alloc(rc);
    this.ones = be.alloc(tied ? maxRows : 0).fill(1);
    this.colSums = be.alloc(tied ? V : 0);
  }
}

/** Forward on x [R,C]: fills a.hr, a.hn and a.logits [R,V]. */
export function headForward(
  be: Backend,
  cfg: ModelConfig,
  p: HeadTensors,
  a: HeadActivations,
  x: Float32Array,
  R: number,
): void {
  const { dModel: C, vocabSize: V } = cfg;
  if (cfg.activation === "relu") {
    be.matmul(a.hr, x, p.dW, p.dB, R, C, C);
    be.reluDropout(a.hr, R * C, 0, 0); // a plain ReLU
  } else {
    be.matmul(a.hpre, x, p.dW, p.dB, R, C, C);
    be.gelu(a.hr, a.hpre, R * C);
  }
  be.layerNormForward(a.hn, a.mean, a.rstd, a.hr, p.lnS, p.lnO, R, C, cfg.lnEps);
  if (cfg.tieOutput) be.matmulTransposed(a.logits, a.hn, p.oW, p.oB, R, C, V);
  else be.matmul(a.logits, a.hn, p.oW, p.oB, R, C, V);
}

/**
 * Cross-entropy of a.logits against a.labels; returns the float64 sum of the row losses. With
 * gradScale not null, a.logits is overwritten by d(loss * gradScale)/d logits.
 */
export function headLoss(
  be: Backend,
  cfg: ModelConfig,
  a: HeadActivations,
  R: number,
  gradScale: number | null,
): number {
  be.crossEntropy(a.losses, gradScale === null ? null : a.logits, a.logits, a.labels, R, cfg.vocabSize, gradScale ?? 1);
  let sum = 0;
  for (let r = 0; r < R; r++) sum += a.losses[r];
  return sum;
}

/** Backward from dlogits (in a.logits) to dx [R,C] (overwritten); gradients accumulate into g. */
export function headBackward(
  be: Backend,
  cfg: ModelConfig,
  p: HeadTensors,
  g: HeadTensors,
  a: HeadActivations,
  x: Float32Array,
  dx: Float32Array,
  R: number,
): void {
  const { dModel: C, vocabSize: V } = cfg;
  if (cfg.tieOutput) tiedOutputBackward(be, cfg, p, g, a, R);
  else be.matmulBackward(a.dhn, g.oW, g.oB, a.logits, a.hn, p.oW, R, C, V);
  be.layerNormBackward(a.dhr, g.lnS, g.lnO, a.dhn, a.hr, p.lnS, a.mean, a.rstd, R, C);
  if (cfg.activation === "relu") be.reluBackward(a.dhr, a.hr, R * C, 1);
  else be.geluBackward(a.dhr, a.hpre, R * C);
  be.matmulBackward(dx, g.dW, g.dB, a.dhr, x, p.dW, R, C, C);
}

/**
 * Backward of logits = hn @ E^T + bo, dlogits [R,V] in a.logits:
 *   dhn [R,C] = dlogits @ E                  (a plain product: E is [V,C])
 *   dE  [V,C] += dlogits^T @ hn              (matmulBackward's weight gradient with inp = dlogits)
 *   dbo [V]   += column sums of dlogits      (the same with inp = ones [R,1]: its "weight" gradient is
 *                                            the sums, in colSums, and its bias gradient adds them to dbo)
 */
function tiedOutputBackward(
  be: Backend,
  cfg: ModelConfig,
  p: HeadTensors,
  g: HeadTensors,
  a: HeadActivations,
  R: number,
): void {
  const { dModel: C, vocabSize: V } = cfg;
  be.matmul(a.dhn, a.logits, p.oW, null, R, V, C);
  be.matmulBackward(null, g.oW, null, a.hn, a.logits, p.oW, R, V, C);
  a.colSums.fill(0);
  be.matmulBackward(null, a.colSums, g.oB, a.logits, a.ones, a.colSums, R, 1, V);
}
