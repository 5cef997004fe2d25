/**
 * One encoder block, forward and backward (T rows, C = dModel, F = dFF, H heads), in one of two
 * layer-norm placements. act is ReLU or GELU (`activation`); each dropout has its place's rate.
 *
 * post-norm (the tutorial's; the block's output is x2):
 *   q, k, v   = x @ Wq + bq, x @ Wk + bk, x @ Wv + bv          [T,C] each
 *   att       = attention(q, k, v) per sequence                 [T,C]
 *   res1      = x + dropout(att @ Wo + bo)                      [T,C]
 *   x1        = LayerNorm1(res1)                                [T,C]
 *   hd        = dropout(act(x1 @ W1 + b1))                      [T,F]
 *   res2      = x1 + dropout(hd @ W2 + b2)                      [T,C]
 *   x2        = LayerNorm2(res2)                                [T,C]
 *
 * pre-norm (GPT-2's and most later models'; the output is res2, and the model adds a final LayerNorm):
 *   x1 = LayerNorm1(x); q, k, v from x1; res1 = x + dropout(att @ Wo + bo)
 *   x2 = LayerNorm2(res1); hd = dropout(act(x2 @ W1 + b1)); res2 = res1 + dropout(hd @ W2 + b2)
 *
 * As the tutorial: no dropout on the attention weights.
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../util/rng.js";
import type { DropoutRates, ModelConfig } from "./config.js";
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
  readonly hd: Float32Array; // [T,F] FFN hidden after the activation and dropout
  readonly hpre: Float32Array; // [T,F] FFN hidden before GELU (its backward needs it); empty with ReLU
  readonly res2: Float32Array;
  readonly x2: Float32Array; // [T,C]
  readonly mean2: Float32Array;
  readonly rstd2: Float32Array; // [T]
  /** Seeds of this pass's dropout masks (attention output, FFN hidden, FFN output): the backward redraws the masks from them. */
  seedAtt = 0;
  seedHidden = 0;
  seedFfn = 0;

  constructor(be: Backend, maxRows: number, maxProbs: number, C: number, F: number, gelu: boolean) {
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
    this.hpre = be.alloc(gelu ? maxRows * F : 0);
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

/** Dropout for one pass: the rate of each place and the generator, or null for none (evaluation). */
export interface DropoutCtx {
  p: DropoutRates;
  rng: Rng;
}

/** The rates of a pass: those of `drop`, all 0 without dropout (kernels with rate 0 keep every unit). */
const NO_DROPOUT: DropoutRates = { embedding: 0, attention: 0, hidden: 0, residual: 0 };

/** The output of a block after its forward: x2 (post-norm) or res2 (pre-norm). */
export function blockOutput(cfg: ModelConfig, a: BlockActivations): Float32Array {
  return cfg.norm === "pre" ? a.res2 : a.x2;
}

/** hd = dropout(act(x @ W1 + b1)), the FFN's hidden units [T,F] (pre-activation kept for GELU). */
function ffnHidden(
  be: Backend,
  cfg: ModelConfig,
  p: BlockTensors,
  a: BlockActivations,
  x: Float32Array,
  T: number,
  rate: number,
): void {
  const n = T * cfg.dFF;
  if (cfg.activation === "relu") {
    be.matmul(a.hd, x, p.fc1W, p.fc1B, T, cfg.dModel, cfg.dFF);
    be.reluDropout(a.hd, n, rate, a.seedHidden);
    return;
  }
  be.matmul(a.hpre, x, p.fc1W, p.fc1B, T, cfg.dModel, cfg.dFF);
  be.gelu(a.hd, a.hpre, n);
  if (rate > 0) be.dropout(a.hd, a.hd, n, rate, a.seedHidden);
}

/** Backward of `ffnHidden`'s activation and dropout, in place on dh [T,F]. */
function ffnHiddenBackward(
  be: Backend,
  cfg: ModelConfig,
  a: BlockActivations,
  dh: Float32Array,
  T: number,
  rate: number,
): void {
  const n = T * cfg.dFF;
  if (cfg.activation === "relu") {
    // hd > 0 exactly where both ReLU and dropout let the unit through
    be.reluBackward(dh, a.hd, n, dropoutScale(rate));
    return;
  }
  if (rate > 0) be.dropout(dh, dh, n, rate, a.seedHidden);
  be.geluBackward(dh, a.hpre, n);
}

/** Forward of one block: reads x [T,C], fills `a` (output: blockOutput). Draws three seeds from drop.rng. */
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
  const rate = drop === null ? NO_DROPOUT : drop.p; // dropout kernels with rate 0 are a plain sum / ReLU
  if (drop !== null) {
    a.seedAtt = drop.rng.u32();
    a.seedHidden = drop.rng.u32();
    a.seedFfn = drop.rng.u32();
  }
  const pre = cfg.norm === "pre";
  if (pre) be.layerNormForward(a.x1, a.mean1, a.rstd1, x, p.ln1S, p.ln1O, T, C, lnEps);
  const attIn = pre ? a.x1 : x;
  be.matmul(a.q, attIn, p.qW, p.qB, T, C, C);
  be.matmul(a.k, attIn, p.kW, p.kB, T, C, C);
  be.matmul(a.v, attIn, p.vW, p.vB, T, C, C);
  be.attentionForward(a.att, a.probs, a.q, a.k, a.v, seqs, numSeqs, T, C, H);
  be.matmul(s.tmpC, a.att, p.oW, p.oB, T, C, C);
  be.addDropout(a.res1, x, s.tmpC, tc, rate.attention, a.seedAtt);
  if (pre) {
    be.layerNormForward(a.x2, a.mean2, a.rstd2, a.res1, p.ln2S, p.ln2O, T, C, lnEps);
    ffnHidden(be, cfg, p, a, a.x2, T, rate.hidden);
    be.matmul(s.tmpC, a.hd, p.fc2W, p.fc2B, T, F, C);
    be.addDropout(a.res2, a.res1, s.tmpC, tc, rate.residual, a.seedFfn);
    return;
  }
  be.layerNormForward(a.x1, a.mean1, a.rstd1, a.res1, p.ln1S, p.ln1O, T, C, lnEps);
  ffnHidden(be, cfg, p, a, a.x1, T, rate.hidden);
  be.matmul(s.tmpC, a.hd, p.fc2W, p.fc2B, T, F, C);
  be.addDropout(a.res2, a.x1, s.tmpC, tc, rate.residual, a.seedFfn);
  be.layerNormForward(a.x2, a.mean2, a.rstd2, a.res2, p.ln2S, p.ln2O, T, C, lnEps);
}

/**
 * Backward of one block. dout [T,C] is the gradient at its output; writes dx [T,C], the gradient at
 * the input x (dx may be the same array as dout: dout is read first). Parameter gradients accumulate
 * into g. `drop` holds the rates used in the forward (null when none); the masks are redrawn from the
 * seeds the forward kept in `a`.
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
  drop: DropoutRates | null,
): void {
  const c: BackwardPass = { be, cfg, p, g, a, s, rows, rate: drop ?? NO_DROPOUT };
  if (cfg.norm === "pre") preNormBackward(c, x, dout, dx);
  else postNormBackward(c, x, dout, dx);
}

/** What every part of one block's backward reads. */
interface BackwardPass {
  be: Backend;
  cfg: ModelConfig;
  p: BlockTensors;
  g: BlockTensors;
  a: BlockActivations;
  s: BlockScratch;
  rows: RowsInfo;
  rate: DropoutRates;
}

/** `blockBackward` of a post-norm block. */
function postNormBackward(c: BackwardPass, x: Float32Array, dout: Float32Array, dx: Float32Array): void {
  const { be, cfg, p, g, a, s, rate } = c;
  const { dModel: C, dFF: F } = cfg;
  const T = c.rows.T;
  const tc = T * C;
  // x2 = LN2(res2): dres = d res2
  be.layerNormBackward(s.dres, g.ln2S, g.ln2O, dout, a.res2, p.ln2S, a.mean2, a.rstd2, T, C);
  // res2 = x1 + drop(hd @ W2 + b2)
  const dffn = dropped(be, s.dtmp, s.dres, tc, rate.residual, a.seedFfn);
  be.matmulBackward(s.dh, g.fc2W, g.fc2B, dffn, a.hd, p.fc2W, T, F, C);
  ffnHiddenBackward(be, cfg, a, s.dh, T, rate.hidden);
  be.matmulBackward(s.dres, g.fc1W, g.fc1B, s.dh, a.x1, p.fc1W, T, C, F, true); // d x1 = d res2 (residual) + FFN path
  // x1 = LN1(res1): dx = d res1 (the residual path to x)
  be.layerNormBackward(dx, g.ln1S, g.ln1O, s.dres, a.res1, p.ln1S, a.mean1, a.rstd1, T, C);
  // res1 = x + drop(att @ Wo + bo)
  const dproj = dropped(be, s.dtmp, dx, tc, rate.attention, a.seedAtt);
  attentionBackward(c, x, dproj, dx, true);
}

/** `blockBackward` of a pre-norm block (the output res2; dout is read before dx is written). */
function preNormBackward(c: BackwardPass, x: Float32Array, dout: Float32Array, dx: Float32Array): void {
  const { be, cfg, p, g, a, s, rate } = c;
  const { dModel: C, dFF: F } = cfg;
  const T = c.rows.T;
  const tc = T * C;
  // res2 = res1 + drop(hd @ W2 + b2), hd from x2 = LN2(res1)
  const dffn = dropped(be, s.dtmp, dout, tc, rate.residual, a.seedFfn);
  be.matmulBackward(s.dh, g.fc2W, g.fc2B, dffn, a.hd, p.fc2W, T, F, C);
  ffnHiddenBackward(be, cfg, a, s.dh, T, rate.hidden);
  be.matmulBackward(s.datt, g.fc1W, g.fc1B, s.dh, a.x2, p.fc1W, T, C, F); // d x2, in datt for now
  be.layerNormBackward(s.dres, g.ln2S, g.ln2O, s.datt, a.res1, p.ln2S, a.mean2, a.rstd2, T, C);
  be.scaleAdd(s.dres, dout, tc, 1, true); // d res1 = LN2 path + residual
  // res1 = x + drop(att(x1) @ Wo + bo), x1 = LN1(x): the projections' input gradients go to dtmp (d x1)
  const dproj = dropped(be, s.dtmp, s.dres, tc, rate.attention, a.seedAtt);
  attentionBackward(c, a.x1, dproj, s.dtmp, false);
  be.layerNormBackward(dx, g.ln1S, g.ln1O, s.dtmp, x, p.ln1S, a.mean1, a.rstd1, T, C);
  be.scaleAdd(dx, s.dres, tc, 1, true); // + the residual path
}

/** dropout(d) into `into` with this rate and seed, or d itself at rate 0. */
function dropped(
  be: Backend,
  into: Float32Array,
  d: Float32Array,
  n: number,
  rate: number,
  seed: number,
): Float32Array {
  if (rate === 0) return d;
  be.dropout(into, d, n, rate, seed);
  return into;
}

/**
 * From dproj, the gradient at the attention's out projection, to the gradient at the attention's
 * input `inp`, added to `dinp` (or written there when `accumulate` is false).
 */
function attentionBackward(
  c: BackwardPass,
  inp: Float32Array,
  dproj: Float32Array,
  dinp: Float32Array,
  accumulate: boolean,
): void {
  const { be, p, g, a, s } = c;
  const { dModel: C, numHeads: H } = c.cfg;
  const { T, seqs, numSeqs } = c.rows;
  be.matmulBackward(s.datt, g.oW, g.oB, dproj, a.att, p.oW, T, C, C);
  be.attentionBackward(s.dq, s.dk, s.dv, s.datt, a.probs, a.q, a.k, a.v, seqs, numSeqs, T, C, H);
  // the three projections' input gradients, added by the products themselves
  be.matmulBackward(dinp, g.qW, g.qB, s.dq, inp, p.qW, T, C, C, accumulate);
  be.matmulBackward(dinp, g.kW, g.kB, s.dk, inp, p.kW, T, C, C, true);
  be.matmulBackward(dinp, g.vW, g.vB, s.dv, inp, p.vW, T, C, C, true);
}
