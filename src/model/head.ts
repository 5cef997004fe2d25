/**
 * The masked-language-model head, on R rows (R = labelled rows with the sparse head, all rows with
 * the full head), C = dModel, V = vocabulary:
 *
 *   hr     = relu(x @ Wd + bd)        [R,C]
 *   hn     = LayerNorm(hr)            [R,C]
 *   logits = hn @ Wo + bo             [R,V]   (Wo is its own tensor, not tied to the embedding)
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

/** The head's views in `flat` (parameters or gradients). */
export function headTensors(specs: ParamSpec[], flat: Float32Array): HeadTensors {
  const v = (name: string): Float32Array => tensorView(specs, flat, name);
  return {
    dW: v("head.dense.weight"),
    dB: v("head.dense.bias"),
    lnS: v("head.ln.scale"),
    lnO: v("head.ln.offset"),
    oW: v("head.out.weight"),
    oB: v("head.out.bias"),
  };
}

/** The head's buffers, sized for maxRows rows (one chunk of the head). */
export class HeadActivations {
  readonly hx: Float32Array; // [R,C] gathered input rows (sparse head)
  readonly hr: Float32Array; // [R,C] after dense + ReLU
  readonly hn: Float32Array; // [R,C] after the layer norm
  readonly mean: Float32Array;
  readonly rstd: Float32Array; // [R]
  readonly logits: Float32Array; // [R,V]; becomes dlogits after the loss
  readonly labels: Int32Array; // [R]
  readonly losses: Float32Array; // [R]
  readonly dhn: Float32Array;
  readonly dhr: Float32Array;
  readonly dhx: Float32Array; // [R,C]

  constructor(
    be: Backend,
    readonly maxRows: number,
    C: number,
    V: number,
  ) {
    const rc = maxRows * C;
    this.hx = be.alloc(rc);
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
  be.matmul(a.hr, x, p.dW, p.dB, R, C, C);
  be.reluDropout(a.hr, R * C, 0, 0); // a plain ReLU
  be.layerNormForward(a.hn, a.mean, a.rstd, a.hr, p.lnS, p.lnO, R, C, cfg.lnEps);
  be.matmul(a.logits, a.hn, p.oW, p.oB, R, C, V);
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
  be.matmulBackward(a.dhn, g.oW, g.oB, a.logits, a.hn, p.oW, R, C, V);
  be.layerNormBackward(a.dhr, g.lnS, g.lnO, a.dhn, a.hr, p.lnS, a.mean, a.rstd, R, C);
  be.reluBackward(a.dhr, a.hr, R * C, 1);
  be.matmulBackward(dx, g.dW, g.dB, a.dhr, x, p.dW, R, C, C);
}
