/**
 * One post-norm encoder block, forward and backward (T rows, C = dModel, F = dFF, H heads):
 *
 *   q, k, v   = x @ Wq + bq, x @ Wk + bk, x @ Wv + bv          [T,C] each
 *   att       = attention(q, k, v) per sequence                 [T,C]
 *   res1      = x + dropout(att @ Wo + bo)                      [T,C]
 *   x1        = LayerNorm1(res1)                                [T,C]
 *   hd        = dropout(relu(x1 @ W1 + b1))                     [T,F]
 *   res2      = x1 + dropout(hd @ W2 + b2)                      [T,C]
 *   x2        = LayerNorm2(res2)                                [T,C]  (the block's output)
 *
 * As the tutorial: no dropout on the attention weights, no final norm after the last block.
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import { dropoutScale } from "../engine/backend.js";
import { tensorView, type ParamSpec } from "./params.js";

/** Views of one block's tensors inside a flat buffer (parameters or gradients). */
export interface BlockTensors {
  qW: Float32Array;
  qB: Float32Array;
  kW: Float32Array;
  kB: Float32Array;
  vW: Float32Array;
  vB: Float32Array;
  oW: Float32Array;
  oB: Float32Array;
  ln1S: Float32Array;
  ln1O: Float32Array;
  fc1W: Float32Array;
  fc1B: Float32Array;
  fc2W: Float32Array;
  fc2B: Float32Array;
  ln2S: Float32Array;
  ln2O: Float32Array;
}

/** The views of block `layer` in `flat`. */
export function blockTensors(specs: ParamSpec[], flat: Float32Array, layer: number): BlockTensors {
  const v = (suffix: string): Float32Array => tensorView(specs, flat, `layers.${layer}.${suffix}`);
  return {
    qW: v("attn.q.weight"),
    qB: v("attn.q.bias"),
    kW: v("attn.k.weight"),
    kB: v("attn.k.bias"),
    vW: v("attn.v.weight"),
    vB: v("attn.v.bias"),
    oW: v("attn.out.weight"),
    oB: v("attn.out.bias"),
    ln1S: v("ln1.scale"),
    ln1O: v("ln1.offset"),
    fc1W: v("ffn.fc1.weight"),
    fc1B: v("ffn.fc1.bias"),
    fc2W: v("ffn.fc2.weight"),
    fc2B: v("ffn.fc2.bias"),
    ln2S: v("ln2.scale"),
    ln2O: v("ln2.offset"),
  };
}

/** Activations one block keeps from its forward for its backward, sized for maxRows. */
export class BlockActivations {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array; // [T,C]
  readonly att: Float32Array; // [T,C] attention output, before the out projection
  readonly probs: Float32Array; // [sum L^2 * H] softmax weights
  readonly res1: Float32Array;
  readonly x1: Float32Array; // [T,C]
  readonly mean1: Float32Array;
  readonly rstd1: Float32Array; // [T]
  readonly hd: Float32Array; // [T,F] FFN hidden after ReLU and dropout
  readonly res2: Float32Array;
  readonly x2: Float32Array; // [T,C]
  readonly mean2: Float32Array;
  readonly rstd2: Float32Array; // [T]
  /** Seeds of this pass's dropout masks (attention output, FFN hidden, FFN output): the backward redraws the masks from them. */
  seedAtt = 0;
  seedHidden = 0;
  seedFfn = 0;

  constructor(be: Backend, maxRows: number, maxProbs: number, C: number, F: number) {
    const tc = maxRows * C;
    this.q = be.alloc(tc);
    this.k = be.alloc(tc);
    this.v = be.alloc(tc);
    this.att = be.alloc(tc);
    this.probs = be.alloc(maxProbs);
    this.res1 = be.alloc(tc);
    this.x1 = be.alloc(tc);
    this.mean1 = be.alloc(maxRows);
    this.rstd1 = be.alloc(maxRows);
    this.hd = be.alloc(maxRows * F);
    this.res2 = be.alloc(tc);
    this.x2 = be.alloc(tc);
    this.mean2 = be.alloc(maxRows);
    this.rstd2 = be.alloc(maxRows);
  }
}

/** Buffers shared by all blocks: forward temporaries and backward gradients, sized for maxRows. */
export class BlockScratch {
  readonly tmpC: Float32Array; // [T,C]
  readonly dres: Float32Array;
  readonly dtmp: Float32Array; // [T,C]
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
  readonly datt: Float32Array; // [T,C]
  readonly dh: Float32Array; // [T,F]

  constructor(be: Backend, maxRows: number, C: number, F: number) {
    const tc = maxRows * C;
    this.tmpC = be.alloc(tc);
    this.dres = be.alloc(tc);
    this.dtmp = be.alloc(tc);
    this.dq = be.alloc(tc);
    this.dk = be.alloc(tc);
    this.dv = be.alloc(tc);
    this.datt = be.alloc(tc);
    this.dh = be.alloc(maxRows * F);
  }
}

/** Rows and sequences of the batch being run (seqs in backend memory, see backend.ts). */
export interface RowsInfo {
  T: number;
  seqs: Int32Array;
  numSeqs: number;
}

/** Dropout for one pass: probability and generator, or null for none (evaluation). */
export interface DropoutCtx {
  p: number;
  rng: Rng;
}

/** Forward of one block: reads x [T,C], fills `a` (output in a.x2). Draws three seeds from drop.rng. */
export function blockForward(
  be: Backend,
  cfg: ModelConfig,
  p: BlockTensors,
  a: BlockActivations,
  s: BlockScratch,
  x: Float32Array,
  rows: RowsInfo,
  drop: DropoutCtx | null,
): void {
  const { dModel: C, dFF: F, numHeads: H, lnEps } = cfg;
  const { T, seqs, numSeqs } = rows;
  const tc = T * C;
  const dp = drop === null ? 0 : drop.p; // dropout kernels with p = 0 are a plain sum / ReLU
  if (drop !== null) {
    a.seedAtt = drop.rng.u32();
    a.seedHidden = drop.rng.u32();
    a.seedFfn = drop.rng.u32();
  }
  be.matmul(a.q, x, p.qW, p.qB, T, C, C);
  be.matmul(a.k, x, p.kW, p.kB, T, C, C);
  be.matmul(a.v, x, p.vW, p.vB, T, C, C);
  be.attentionForward(a.att, a.probs, a.q, a.k, a.v, seqs, numSeqs, T, C, H);
  be.matmul(s.tmpC, a.att, p.oW, p.oB, T, C, C);
  be.addDropout(a.res1, x, s.tmpC, tc, dp, a.seedAtt);
  be.layerNormForward(a.x1, a.mean1, a.rstd1, a.res1, p.ln1S, p.ln1O, T, C, lnEps);
  be.matmul(a.hd, a.x1, p.fc1W, p.fc1B, T, C, F);
  be.reluDropout(a.hd, T * F, dp, a.seedHidden);
  be.matmul(s.tmpC, a.hd, p.fc2W, p.fc2B, T, F, C);
  be.addDropout(a.res2, a.x1, s.tmpC, tc, dp, a.seedFfn);
  be.layerNormForward(a.x2, a.mean2, a.rstd2, a.res2, p.ln2S, p.ln2O, T, C, lnEps);
}

/**
 * Backward of one block. dout [T,C] is the gradient at a.x2; writes dx [T,C], the gradient at the
 * input x (dx may be the same array as dout: dout is read first). Parameter gradients accumulate
 * into g. `dropP` is the dropout probability used in the forward (null when none); the masks are
 * redrawn from the seeds the forward kept in `a`.
 */
export function blockBackward(
  be: Backend,
  cfg: ModelConfig,
  p: BlockTensors,
  g: BlockTensors,
  a: BlockActivations,
  s: BlockScratch,
  x: Float32Array,
  dout: Float32Array,
  dx: Float32Array,
  rows: RowsInfo,
  dropP: number | null,
): void {
  const { dModel: C, dFF: F, numHeads: H } = cfg;
  const { T, seqs, numSeqs } = rows;
  const tc = T * C;
  // x2 = LN2(res2): dres = d res2
  be.layerNormBackward(s.dres, g.ln2S, g.ln2O, dout, a.res2, p.ln2S, a.mean2, a.rstd2, T, C);
  // res2 = x1 + drop(hd @ W2 + b2)
  if (dropP !== null) be.dropout(s.dtmp, s.dres, tc, dropP, a.seedFfn);
  be.matmulBackward(s.dh, g.fc2W, g.fc2B, dropP !== null ? s.dtmp : s.dres, a.hd, p.fc2W, T, F, C);
  // hd = drop(relu(x1 @ W1 + b1)); hd > 0 exactly where both ReLU and dropout let the unit through
  be.reluBackward(s.dh, a.hd, T * F, dropoutScale(dropP ?? 0));
  be.matmulBackward(s.dres, g.fc1W, g.fc1B, s.dh, a.x1, p.fc1W, T, C, F, true); // d x1 = d res2 (residual) + FFN path
  // x1 = LN1(res1): dx = d res1 (the residual path to x)
  be.layerNormBackward(dx, g.ln1S, g.ln1O, s.dres, a.res1, p.ln1S, a.mean1, a.rstd1, T, C);
  // res1 = x + drop(att @ Wo + bo)
  const dproj = dropP !== null ? s.dtmp : dx;
  if (dropP !== null) be.dropout(s.dtmp, dx, tc, dropP, a.seedAtt);
  be.matmulBackward(s.datt, g.oW, g.oB, dproj, a.att, p.oW, T, C, C);
  be.attentionBackward(s.dq, s.dk, s.dv, s.datt, a.probs, a.q, a.k, a.v, seqs, numSeqs, T, C, H);
  // dx = d res1 + the three projections' input gradients, added by the products themselves
  be.matmulBackward(dx, g.qW, g.qB, s.dq, x, p.qW, T, C, C, true);
  be.matmulBackward(dx, g.kW, g.kB, s.dk, x, p.kW, T, C, C, true);
  be.matmulBackward(dx, g.vW, g.vB, s.dv, x, p.vW, T, C, C, true);
}
