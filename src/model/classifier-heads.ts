/**
 * The classifier's heads, on the pooled sentence vectors x [B,C] (C = dModel, N = labels):
 *
 *   "tutorial"  the tutorial's: hn = LayerNorm(act(x @ Wd + bd)), logits = hn @ Wo + bo
 *               tensors classifier.dense, classifier.ln, classifier.out (head.ts's functions, N outputs)
 *   "bert"      BertForSequenceClassification's: BertPooler then dropout then the classifier layer,
 *               ht = tanh(x @ Wp + bp)        [B,C]
 *               hd = dropout(ht)              [B,C]   (training only, at the run's `dropout` rate,
 *                                                      BERT's classifier_dropout = hidden_dropout_prob)
 *               logits = hd @ Wo + bo         [B,N]
 *               tensors classifier.pooler, classifier.out
 *
 * Both sit behind `SentenceHead`, so the classifier (classifier.ts) runs either the same way. Buffers
 * are allocated once for maxSeqs sentences.
 */
import type { Backend } from "../engine/backend.js";
import type { ModelConfig } from "./config.js";
import { HeadActivations, headBackward, headForward, type HeadTensors } from "./head.js";
import { tensorView, type LayoutBuilder, type ParamSpec } from "./params.js";

/** The classifier heads by name; "tutorial" first (the default). */
export const CLASSIFIER_HEADS = ["tutorial", "bert"] as const;

export type ClassifierHead = (typeof CLASSIFIER_HEADS)[number];

/** `value` when it is a head's name; a one-line error naming `what` otherwise. */
export function checkClassifierHead(value: unknown, what: string): ClassifierHead {
  if (!CLASSIFIER_HEADS.includes(value as ClassifierHead))
    throw new Error(
      `${what}: head must be ${CLASSIFIER_HEADS.map((h) => `"${h}"`).join(" or ")}, got ${JSON.stringify(value)}`,
    );
  return value as ClassifierHead;
}

/** Adds the head's tensors to a layout, after the encoder's (random inits draw in this order). */
export function addClassifierHeadTensors(b: LayoutBuilder, head: ClassifierHead, C: number, N: number): void {
  if (head === "bert") {
    b.linear("classifier.pooler", C, C);
  } else {
    b.linear("classifier.dense", C, C);
    b.norm("classifier.ln", C);
  }
  b.linear("classifier.out", C, N);
}

/** The training-time dropout of a pass through the head: its rate and mask seed. */
export interface HeadDropout {
  rate: number;
  seed: number;
}

/** A head on B pooled vectors; `logits` becomes d(loss)/d logits when the caller's loss writes it. */
export interface SentenceHead {
  /** [maxSeqs,C] the pooled input, filled by the caller. */
  readonly hx: Float32Array;
  /** [maxSeqs,C] d loss / d hx after `backward`. */
  readonly dhx: Float32Array;
  /** [maxSeqs,N] the logits after `forward`; the caller's loss overwrites them with their gradient. */
  readonly logits: Float32Array;
  /** Whether the head applies dropout in training. */
  readonly hasDropout: boolean;
  forward(B: number, dropout: HeadDropout | null): void;
  /** From the logits' gradient (in `logits`) to `dhx`; gradients accumulate into the grads buffer. */
  backward(B: number): void;
}

/** The head `head` over the parameter and gradient buffers of a layout that holds its tensors. */
export function sentenceHead(
  be: Backend,
  head: ClassifierHead,
  cfg: ModelConfig,
  N: number,
  specs: ParamSpec[],
  params: Float32Array,
  grads: Float32Array,
  maxSeqs: number,
): SentenceHead {
  return head === "bert"
    ? new BertPoolerHead(be, cfg, N, specs, params, grads, maxSeqs)
    : new TutorialHead(be, cfg, N, specs, params, grads, maxSeqs);
}

/** The tutorial's head: head.ts's masked-LM head functions with N outputs, untied. */
class TutorialHead implements SentenceHead {
  readonly hasDropout = false;
  private readonly cfg: ModelConfig; // vocabSize = N, untied
  private readonly p: HeadTensors;
  private readonly g: HeadTensors;
  private readonly a: HeadActivations;

  constructor(
    private readonly be: Backend,
    cfg: ModelConfig,
    N: number,
    specs: ParamSpec[],
    params: Float32Array,
    grads: Float32Array,
    maxSeqs: number,
  ) {
    this.cfg = { ...cfg, vocabSize: N, tieOutput: false };
    const views = (flat: Float32Array): HeadTensors => ({
      dW: tensorView(specs, flat, "classifier.dense.weight"),
      dB: tensorView(specs, flat, "classifier.dense.bias"),
      lnS: tensorView(specs, flat, "classifier.ln.scale"),
      lnO: tensorView(specs, flat, "classifier.ln.offset"),
      oW: tensorView(specs, flat, "classifier.out.weight"),
      oB: tensorView(specs, flat, "classifier.out.bias"),
    });
    this.p = views(params);
    this.g = views(grads);
    this.a = new HeadActivations(be, maxSeqs, this.cfg);
  }

  get hx(): Float32Array {
    return this.a.hx;
  }
  get dhx(): Float32Array {
    return this.a.dhx;
  }
  get logits(): Float32Array {
    return this.a.logits;
  }

  forward(B: number): void {
    headForward(this.be, this.cfg, this.p, this.a, this.a.hx, B);
  }

  backward(B: number): void {
    headBackward(this.be, this.cfg, this.p, this.g, this.a, this.a.hx, this.a.dhx, B);
  }
}

/** BERT's pooler (dense, tanh), dropout and classifier layer; see the module comment. */
class BertPoolerHead implements SentenceHead {
  readonly hasDropout = true;
  readonly hx: Float32Array; // [B,C]
  readonly dhx: Float32Array; // [B,C]
  readonly logits: Float32Array; // [B,N]
  private readonly ht: Float32Array; // [B,C] tanh(x @ Wp + bp)
  private readonly hd: Float32Array; // [B,C] dropout(ht), the classifier layer's input
  private readonly dh: Float32Array; // [B,C] gradient at hd, then at the pooler's pre-activation
  private readonly C: number;
  private dropout: HeadDropout | null = null; // the last forward's
  private readonly pW: Float32Array;
  private readonly pB: Float32Array;
  private readonly oW: Float32Array;
  private readonly oB: Float32Array;
  private readonly gpW: Float32Array;
  private readonly gpB: Float32Array;
  private readonly goW: Float32Array;
  private readonly goB: Float32Array;

  constructor(
    private readonly be: Backend,
    cfg: ModelConfig,
    private readonly N: number,
    specs: ParamSpec[],
    params: Float32Array,
    grads: Float32Array,
    maxSeqs: number,
  ) {
    const C = cfg.dModel;
    this.C = C;
    this.hx = be.alloc(maxSeqs * C);
    this.dhx = be.alloc(maxSeqs * C);
    this.ht = be.alloc(maxSeqs * C);
    this.hd = be.alloc(maxSeqs * C);
    this.dh = be.alloc(maxSeqs * C);
    this.logits = be.alloc(maxSeqs * N);
    const v = (flat: Float32Array, name: string): Float32Array => tensorView(specs, flat, name);
    this.pW = v(params, "classifier.pooler.weight");
    this.pB = v(params, "classifier.pooler.bias");
    this.oW = v(params, "classifier.out.weight");
    this.oB = v(params, "classifier.out.bias");
    this.gpW = v(grads, "classifier.pooler.weight");
    this.gpB = v(grads, "classifier.pooler.bias");
    this.goW = v(grads, "classifier.out.weight");
    this.goB = v(grads, "classifier.out.bias");
  }

  forward(B: number, dropout: HeadDropout | null): void {
    const { be, C, N } = this;
    const n = B * C;
    be.matmul(this.ht, this.hx, this.pW, this.pB, B, C, C);
    for (let i = 0; i < n; i++) this.ht[i] = Math.tanh(this.ht[i]);
    this.dropout = dropout !== null && dropout.rate > 0 ? dropout : null;
    const d = this.dropout;
    if (d !== null) be.dropout(this.hd, this.ht, n, d.rate, d.seed);
    be.matmul(this.logits, d === null ? this.ht : this.hd, this.oW, this.oB, B, C, N);
  }

  backward(B: number): void {
    const { be, C, N, dh, ht } = this;
    const n = B * C;
    const d = this.dropout;
    be.matmulBackward(dh, this.goW, this.goB, this.logits, d === null ? ht : this.hd, this.oW, B, C, N);
    if (d !== null) be.dropout(dh, dh, n, d.rate, d.seed); // the same mask: dropout is its own backward
    for (let i = 0; i < n; i++) dh[i] *= 1 - ht[i] * ht[i]; // tanh' = 1 - tanh^2
    be.matmulBackward(this.dhx, this.gpW, this.gpB, dh, this.hx, this.pW, B, C, C);
  }
}
