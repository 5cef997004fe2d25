/**
 * A sentence classifier: the encoder (encoder.ts) and a classification head, on B sentences packed
 * as T rows (a Batch), C = dModel, N = the number of labels:
 *
 *   x       = encoder(batch)                        [T,C]
 *   pooled  = x[first row of each sentence]         [B,C]   ([CLS], the tutorial's; or the mean, pooling.ts)
 *   logits  = head(pooled)                          [B,N]   (classifier-heads.ts)
 *   loss    = mean over sentences of cross-entropy(logits, label)
 *
 * The "tutorial" head is the tutorial's, hn = LayerNorm(act(pooled @ Wd + bd)), logits = hn @ Wo + bo:
 * the tutorial applies dense → ReLU → LayerNorm on every position and then takes position 0; these
 * act on each row alone, so running them on the [CLS] rows only gives the same logits and gradients.
 * The "bert" head is BertForSequenceClassification's: tanh(pooled @ Wp + bp), dropout, then a linear
 * layer to the N classes.
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
import { addClassifierHeadTensors, sentenceHead, type ClassifierHead, type SentenceHead } from "./classifier-heads.js";
import { Pooler, type Pooling } from "./pooling.js";
import {
  addEncoderTensors,
  decayMask,
  initParams,
  LayoutBuilder,
  loadTensors,
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
  /** The head on that vector: "tutorial" (the default) or "bert" (classifier-heads.ts). */
  head?: ClassifierHead;
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
export function classifierLayout(
  cfg: ModelConfig,
  numLabels: number,
  head: ClassifierHead = "tutorial",
): { specs: ParamSpec[]; total: number } {
  const b = new LayoutBuilder();
  addEncoderTensors(b, cfg);
  addClassifierHeadTensors(b, head, cfg.dModel, numLabels);
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
  readonly headName: ClassifierHead;
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
  private readonly head: SentenceHead; // head.hx is the pooled input [B,C]
  private readonly labels: Int32Array; // [maxSeqs] each sentence's label (or IGNORE)
  private readonly losses: Float32Array; // [maxSeqs] each sentence's cross-entropy

  constructor(
    readonly backend: Backend,
    config: Partial<ModelConfig>,
    shape: ClassifierShape,
    capacity: Pick<ModelCapacity, "maxRows" | "maxSeqs" | "accumulate">,
  ) {
    const cfg = modelConfigOf(config);
    const { numLabels, pooling } = shape;
    const head = shape.head ?? "tutorial";
    if (!(Number.isInteger(numLabels) && numLabels >= 2))
      throw new Error(`ClassifierModel: numLabels must be an integer of at least 2, got ${numLabels}`);
    const { maxRows, maxSeqs } = capacity;
    for (const [k, v] of Object.entries({ maxRows, maxSeqs }))
      if (!(Number.isInteger(v) && v >= 1))
        throw new Error(`ClassifierModel: capacity.${k} must be a positive integer, got ${v}`);
    this.config = cfg;
    this.numLabels = numLabels;
    this.pooling = pooling;
    this.headName = head;
    this.capacity = { maxRows, maxSeqs };
    const { specs, total } = classifierLayout(cfg, numLabels, head);
    this.specs = specs;
    this.numParams = specs.reduce((a, s) => a + s.size, 0);
    this.params = backend.alloc(total);
    this.passGrads = backend.alloc(total);
    const sum = capacity.accumulate ? backend.alloc(total) : null;
    this.accumulator = new GradientAccumulator("ClassifierModel", backend, this.passGrads, sum);
    this.encoder = new Encoder(backend, cfg, specs, this.params, this.passGrads, maxRows, maxSeqs);
    this.pooler = new Pooler(backend, maxRows, maxSeqs);
    this.head = sentenceHead(backend, head, cfg, numLabels, specs, this.params, this.passGrads, maxSeqs);
    this.labels = backend.allocInt(maxSeqs);
    this.losses = backend.alloc(maxSeqs);
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
    const train = opts.train ?? true;
    const drop = enc.dropoutCtx(train, opts.dropoutRng, "ClassifierModel");
    const B = batch.numSeqs;
    const count = this.collectLabels(batch);
    if (count !== B)
      throw new Error(`ClassifierModel: ${B - count} of the batch's ${B} sentences have no label on their first row`);
    enc.forward(rows, drop);
    this.passGrads.fill(0);
    const be = this.backend;
    const C = this.config.dModel;
    const T = rows.T;
    const h = this.head;
    this.pooler.forward(this.pooling, h.hx, enc.output(), rows.seqs, B, T, C);
    h.forward(B, this.headDropout(train, opts.dropoutRng));
    be.crossEntropy(this.losses, h.logits, h.logits, this.labels, B, this.numLabels, 1 / B);
    let lossSum = 0;
    for (let b = 0; b < B; b++) lossSum += this.losses[b];
    h.backward(B);
    enc.dOutput.fill(0, 0, T * C);
    this.pooler.backward(this.pooling, enc.dOutput, h.dhx, B, T, C);
    enc.backward(rows, drop);
    return { loss: lossSum / B, count: B };
  }

  /**
   * The head's dropout in a training pass (BERT's head: the run's `dropout` rate, as BERT's
   * classifier_dropout defaults to hidden_dropout_prob); its seed is drawn after the encoder's.
   */
  private headDropout(train: boolean, rng: Rng | undefined): { rate: number; seed: number } | null {
    const rate = this.config.dropout;
    if (!train || !this.head.hasDropout || rate === 0) return null;
    if (rng === undefined) throw new Error("ClassifierModel: training with dropout needs opts.dropoutRng");
    return { rate, seed: rng.u32() };
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
      // cross-entropy writes over its input only with a gradient: losses go to this.losses
      this.backend.crossEntropy(this.losses, null, logits, this.labels, B, this.numLabels, 1);
      for (let b = 0; b < B; b++) lossSum += this.losses[b];
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
    this.embed(batch, this.pooling); // into head.hx
    this.head.forward(B, null);
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
      this.labels[b] = label;
      if (label >= 0) count++;
    }
    return count;
  }
}
