/**
 * A sentence classifier: the encoder (encoder.ts) and the tutorial's classification head, on B
 * sentences packed as T rows (a Batch), C = dModel, N = the number of labels:
 *
 *   x       = encoder(batch)                        [T,C]
 *   pooled  = x[first row of each sentence]         [B,C]   ([CLS], the tutorial's; or the mean, pooling.ts)
 *   hr      = act(pooled @ Wd + bd)                 [B,C]
 *   hn      = LayerNorm(hr)                         [B,C]
 *   logits  = hn @ Wo + bo                          [B,N]
 *   loss    = mean over sentences of cross-entropy(logits, label)
 *
 * The tutorial applies dense → ReLU → LayerNorm on every position and then takes position 0; these
 * act on each row alone, so running them on the [CLS] rows only gives the same logits and gradients.
 * The head has the shape of the masked-LM head (head.ts) with N outputs instead of V, so it runs
 * through the same functions; its tensors are `classifier.dense`, `classifier.ln`, `classifier.out`.
 *
 * A sentence's label is carried by its first row in `batch.labels` (every other row IGNORE_LABEL),
 * see data/labelled-batches.ts. All buffers are allocated once, for the capacity given.
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../util/rng.js";
import type { Batch } from "../data/batch.js";
import { modelConfigOf, type ModelConfig } from "./config.js";
import { Encoder } from "./encoder.js";
import { GradientAccumulator } from "./accumulate.js";
import { HeadActivations, headBackward, headForward, headLoss, type HeadTensors } from "./head.js";
import { Pooler, type Pooling } from "./pooling.js";
import {
  addEncoderTensors,
  decayMask,
  initParams,
  LayoutBuilder,
  loadTensors,
  tensorView,
  tensorViews,
  type NamedTensor,
  type ParamSpec,
} from "./params.js";
import type { ModelCapacity, StepResult } from "./model.js";

/** What the classifier adds to the encoder's shape. */
export interface ClassifierShape {
  /** Number of classes N (at least 2). */
  numLabels: number;
  /** How a sentence's vector is taken from its rows: "cls" (the tutorial's) or "mean". */
  pooling: Pooling;
}

/** Scores of one batch without gradients. */
export interface ClassifierEval {
  /** Sum of the sentences' cross-entropies. */
  lossSum: number;
  /** Sentences scored (those with a label). */
  count: number;
  /** [B,N] the logits (a view, overwritten by the next pass). */
  logits: Float32Array;
}

/**
 * The classifier's tensors: the encoder's, then the head's, in a fixed order (random inits draw in
 * this order, so the encoder gets the same values from a seed as the masked-LM model's encoder).
 */
export function classifierLayout(cfg: ModelConfig, numLabels: number): { specs: ParamSpec[]; total: number } {
  const b = new LayoutBuilder();
  addEncoderTensors(b, cfg);
  b.linear("classifier.dense", cfg.dModel, cfg.dModel);
  b.norm("classifier.ln", cfg.dModel);
  b.linear("classifier.out", cfg.dModel, numLabels);
  return { specs: b.specs, total: b.total };
}

/** Whether a tensor name belongs to the encoder (what a pre-trained masked-LM run gives a classifier). */
export function isEncoderTensor(name: string): boolean {
  return !name.startsWith("head.") && !name.startsWith("classifier.");
}

/**
 * @example
 *   const model = new ClassifierModel(new TsBackend(), { vocabSize: 50, dModel: 16, numLayers: 1, numHeads: 2, dFF: 32 },
 *     { numLabels: 2, pooling: "cls" }, { maxRows: 64, maxSeqs: 8 });
 *   model.init(new Rng(1));
 *   const batch = batchOf([{ ids: [1, 7, 9, 2], labels: [1, -100, -100, -100] }]);  // label 1 on [CLS]
 *   const { loss } = model.forwardBackward(batch, { dropoutRng: Rng.derive(1, "dropout") });
 */
export class ClassifierModel {
  readonly config: ModelConfig;
  readonly numLabels: number;
  readonly pooling: Pooling;
  readonly capacity: Readonly<{ maxRows: number; maxSeqs: number }>;
  readonly specs: ParamSpec[];
  /** All parameters, flat (backend memory). */
  readonly params: Float32Array;
  readonly numParams: number;
  /** Gradients of the last pass, in the layout of `params` (the encoder's and head's views point here). */
  private readonly passGrads: Float32Array;
  /** Gradient accumulation over passes, into a second buffer when capacity.accumulate. */
  private readonly accumulator: GradientAccumulator;

  private readonly encoder: Encoder;
  private readonly pooler: Pooler;
  private readonly headConfig: ModelConfig; // the head's shape: vocabSize = N, untied
  private readonly headP: HeadTensors;
  private readonly headG: HeadTensors;
  private readonly head: HeadActivations; // [B,C] buffers; head.hx is the pooled input

  constructor(
    readonly backend: Backend,
    config: Partial<ModelConfig>,
    shape: ClassifierShape,
    capacity: Pick<ModelCapacity, "maxRows" | "maxSeqs" | "accumulate">,
  ) {
    const cfg = modelConfigOf(config);
    const { numLabels, pooling } = shape;
    if (!(Number.isInteger(numLabels) && numLabels >= 2))
      throw new Error(`ClassifierModel: numLabels must be an integer of at least 2, got ${numLabels}`);
    const { maxRows, maxSeqs } = capacity;
    for (const [k, v] of Object.entries({ maxRows, maxSeqs }))
      if (!(Number.isInteger(v) && v >= 1))
        throw new Error(`ClassifierModel: capacity.${k} must be a positive integer, got ${v}`);
    this.config = cfg;
    this.numLabels = numLabels;
    this.pooling = pooling;
    this.capacity = { maxRows, maxSeqs };
    const { specs, total } = classifierLayout(cfg, numLabels);
    this.specs = specs;
    this.numParams = specs.reduce((a, s) => a + s.size, 0);
    this.params = backend.alloc(total);
    this.passGrads = backend.alloc(total);
    const sum = capacity.accumulate ? backend.alloc(total) : null;
    this.accumulator = new GradientAccumulator("ClassifierModel", backend, this.passGrads, sum);
    this.encoder = new Encoder(backend, cfg, specs, this.params, this.passGrads, maxRows, maxSeqs);
    this.pooler = new Pooler(backend, maxRows, maxSeqs);
    this.headConfig = { ...cfg, vocabSize: numLabels, tieOutput: false };
    const views = (flat: Float32Array): HeadTensors => ({
      dW: tensorView(specs, flat, "classifier.dense.weight"),
      dB: tensorView(specs, flat, "classifier.dense.bias"),
      lnS: tensorView(specs, flat, "classifier.ln.scale"),
      lnO: tensorView(specs, flat, "classifier.ln.offset"),
      oW: tensorView(specs, flat, "classifier.out.weight"),
      oB: tensorView(specs, flat, "classifier.out.bias"),
    });
    this.headP = views(this.params);
    this.headG = views(this.passGrads);
    this.head = new HeadActivations(backend, maxSeqs, this.headConfig);
  }

  /** Haiku's default initialisation of every tensor (params.ts), from `rng`. */
  init(rng: Rng): void {
    initParams(this.specs, this.params, rng);
  }

  /** Views of the parameter tensors (no copy), e.g. for checkpoints. */
  tensors(): NamedTensor[] {
    return tensorViews(this.specs, this.params);
  }

  /** Copies every named tensor into the parameters; names and shapes must match `specs` exactly. */
  loadTensors(tensors: Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> }>): void {
    loadTensors(this.specs, this.params, tensors);
  }

  /**
   * Copies the encoder's tensors from another model's (a masked-LM checkpoint: its `head.*` tensors are
   * dropped), leaving the classifier's head as it is. Every encoder tensor must be there, same shape.
   */
  loadEncoder(tensors: Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> }>): void {
    const encoderSpecs = this.specs.filter((s) => isEncoderTensor(s.name));
    const wanted = [...tensors].filter((t) => isEncoderTensor(t.name));
    loadTensors(encoderSpecs, this.params, wanted);
  }

  /** 1 where AdamW weight decay applies (matrices), over the flat buffer. */
  decayMask(): Uint8Array {
    return decayMask(this.specs, this.params.length);
  }

  /**
   * d(mean loss)/d params of the last pass, or after `endAccumulation` of several passes their mean
   * weighted by sentences (model.ts says how).
   */
  get grads(): Float32Array {
    return this.accumulator.grads;
  }

  /**
   * Loss and gradients of one batch (dropout when `train`, default true): `grads` becomes this batch's
   * gradient, or with `accumulate` (needs capacity.accumulate from the second pass on) it joins the
   * open accumulation, weighted by its sentences, until `endAccumulation`.
   */
  forwardBackward(batch: Batch, opts: { train?: boolean; dropoutRng?: Rng; accumulate?: boolean } = {}): StepResult {
    return this.accumulator.run(opts.accumulate ?? false, () => this.backprop(batch, opts));
  }

  /** Ends an accumulation: `grads` holds the sentence-weighted mean gradient; returns the mean loss. */
  endAccumulation(): StepResult {
    return this.accumulator.end();
  }

  private backprop(batch: Batch, opts: { train?: boolean; dropoutRng?: Rng }): StepResult {
    const enc = this.encoder;
    const rows = enc.prepare(batch, "ClassifierModel");
    const drop = enc.dropoutCtx(opts.train ?? true, opts.dropoutRng, "ClassifierModel");
    const B = batch.numSeqs;
    const count = this.collectLabels(batch);
    if (count !== B)
      throw new Error(`ClassifierModel: ${B - count} of the batch's ${B} sentences have no label on their first row`);
    enc.forward(rows, drop);
    this.passGrads.fill(0);
    const be = this.backend;
    const C = this.config.dModel;
    const T = rows.T;
    const a = this.head;
    this.pooler.forward(this.pooling, a.hx, enc.output(), rows.seqs, B, T, C);
    headForward(be, this.headConfig, this.headP, a, a.hx, B);
    const lossSum = headLoss(be, this.headConfig, a, B, 1 / B);
    headBackward(be, this.headConfig, this.headP, this.headG, a, a.hx, a.dhx, B);
    enc.dOutput.fill(0, 0, T * C);
    this.pooler.backward(this.pooling, enc.dOutput, a.dhx, B, T, C);
    enc.backward(rows, drop);
    return { loss: lossSum / B, count: B };
  }

  /**
   * Logits [B,N] of every sentence, and the loss sums of those with a label (others count nothing),
   * without dropout or gradients.
   */
  evaluate(batch: Batch): ClassifierEval {
    const B = batch.numSeqs;
    const logits = this.forwardLogits(batch);
    const count = this.collectLabels(batch);
    let lossSum = 0;
    if (count > 0) {
      // cross-entropy writes over its input only with a gradient: losses go to head.losses
      this.backend.crossEntropy(this.head.losses, null, logits, this.head.labels, B, this.numLabels, 1);
      for (let b = 0; b < B; b++) lossSum += this.head.losses[b];
    }
    return { lossSum, count, logits };
  }

  /** Logits [B,N] of the batch's sentences (a view, overwritten by the next pass). */
  logits(batch: Batch): Float32Array {
    return this.forwardLogits(batch);
  }

  /** Sentence vectors [B,C] (a view) pooled from the encoder's output, before the head. */
  embed(batch: Batch, pooling: Pooling = this.pooling): Float32Array {
    const rows = this.encoder.prepare(batch, "ClassifierModel");
    this.encoder.forward(rows, null);
    const C = this.config.dModel;
    const out = this.head.hx.subarray(0, batch.numSeqs * C);
    this.pooler.forward(pooling, out, this.encoder.output(), rows.seqs, batch.numSeqs, rows.T, C);
    return out;
  }

  private forwardLogits(batch: Batch): Float32Array {
    const B = batch.numSeqs;
    const x = this.embed(batch, this.pooling);
    headForward(this.backend, this.headConfig, this.headP, this.head, x, B);
    return this.head.logits.subarray(0, B * this.numLabels);
  }

  /**
   * Each sentence's label (its first row's, or IGNORE when negative) into head.labels; checks them.
   * Returns how many sentences have one.
   */
  private collectLabels(batch: Batch): number {
    const B = batch.numSeqs;
    let count = 0;
    for (let b = 0; b < B; b++) {
      const label = batch.labels[batch.seqs[3 * b]];
      if (label >= this.numLabels)
        throw new Error(`ClassifierModel: label ${label} of sentence ${b} is outside the ${this.numLabels} classes`);
      this.head.labels[b] = label;
      if (label >= 0) count++;
    }
    return count;
  }
}
