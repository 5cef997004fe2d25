/**
 * The tutorial's masked language model, on packed rows (a Batch, see data/batch.ts):
 *
 *   x0 = dropout(embed[ids] * sqrt(C) + PE[positions])          [T,C]
 *   x  = block_l(x) for l = 0 .. numLayers-1                     [T,C]
 *   x  = LayerNorm_final(x)           (pre-norm only)            [T,C]
 *   logits = head(x[rows])                                      [R,V]
 *   loss = sum of cross-entropies at labelled rows / their count
 *
 * The encoder (the first three lines) is encoder.ts, shared with the classifier; the options of the
 * configuration (encoder.ts, block.ts and head.ts say how each one changes the layers): PE is
 * the sinusoid, the sinusoid times sqrt(C), or a learned table `embed.positions` [maxLen, C]; blocks
 * are post-norm (the tutorial's) or pre-norm with the final LayerNorm; ReLU or GELU; the output layer
 * may be tied to the embedding; each dropout place has its rate.
 *
 * The head runs only at labelled rows by default ("sparse prediction": same loss and gradients,
 * a fraction of the work, since the 25000-way output layer dominates); `fullHead` runs it on every
 * row as the tutorial does. Either way the head runs in chunks of at most capacity.maxHeadRows rows
 * (gather, forward, loss, backward, scatter-add per chunk; its weight gradients accumulate), so its
 * [rows, V] logits never need a buffer for the whole batch. All buffers are allocated once in the
 * constructor for the capacity given and reused on every step.
 *
 * Gradient accumulation happens here too: passes with `accumulate` add their gradients, each weighted
 * by its labelled rows, and `endAccumulation` divides by the total, so that k batches of n sentences
 * give the loss and gradient of one batch of k * n sentences (the mean over all their masked tokens).
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../util/rng.js";
import type { Batch } from "../data/batch.js";
import { modelConfigOf, type ModelConfig } from "./config.js";
import { Encoder } from "./encoder.js";
import { Pooler, type Pooling } from "./pooling.js";
import { GradientAccumulator } from "./accumulate.js";
import { HeadActivations, headBackward, headForward, headLoss, headTensors, type HeadTensors } from "./head.js";
import {
  decayMask,
  initParams,
  loadTensors,
  paramLayout,
  tensorViews,
  type NamedTensor,
  type ParamSpec,
} from "./params.js";
import { DEFAULT_CONFIG } from "../config/table.js";

/** Default rows per head chunk (see ModelCapacity.maxHeadRows). */
const DEFAULT_HEAD_ROWS = 512;

/**
 * The largest batch a model instance will see; buffers are sized from it once. Memory, in float32s:
 * per block about maxRows * (8 C + F) plus the attention weights min(maxLen, maxRows) * maxRows * H;
 * the head's logits maxHeadRows * V. The head runs over its rows (labelled rows, or every row with
 * the full head) in chunks of at most maxHeadRows, so maxHeadRows bounds memory, not the batch: the
 * default min(maxRows, 512) keeps the logits small (512 x 25000 floats = 49 MiB) while each chunk is
 * still a large matrix product.
 */
export interface ModelCapacity {
  /** Most packed rows T in one batch (batch size * max length when padded). */
  maxRows: number;
  /** Most sequences in one batch. */
  maxSeqs: number;
  /**
   * Rows per chunk of the head (and most rows `logits` accepts at once). Default min(maxRows, 512).
   */
  maxHeadRows?: number;
  /** Room for gradient accumulation (a second gradient buffer, for passes with `accumulate`). Default false. */
  accumulate?: boolean;
}

/** A capacity with its defaults filled in, checked. */
function resolveCapacity(capacity: ModelCapacity): Required<ModelCapacity> {
  const { maxRows, maxSeqs } = capacity;
  const maxHeadRows = capacity.maxHeadRows ?? Math.min(maxRows, DEFAULT_HEAD_ROWS);
  for (const [k, v] of Object.entries({ maxRows, maxSeqs, maxHeadRows })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`MlmModel: capacity.${k} must be a positive integer, got ${v}`);
  }
  return { maxRows, maxSeqs, maxHeadRows, accumulate: capacity.accumulate ?? false };
}

/** Options of a training or evaluation pass. */
export interface PassOptions {
  /** Apply dropout (training mode). Default true in `forwardBackward`, always false in `evaluate`. */
  train?: boolean;
  /** Generator for dropout masks; required when training with dropout > 0. */
  dropoutRng?: Rng;
  /** Run the head on every row instead of labelled rows only (the tutorial's way; same loss). */
  fullHead?: boolean;
  /**
   * Part of a gradient-accumulation step (needs capacity.accumulate): this batch's gradient joins those
   * of the accumulating passes since the last `endAccumulation`, weighted by its labelled rows. Read
   * `grads` after `endAccumulation`. Default false: `grads` is this batch's gradient alone.
   */
  accumulate?: boolean;
}

/** Loss and gradient of one batch. */
export interface StepResult {
  /** Mean cross-entropy over labelled rows (0 when there are none). */
  loss: number;
  /** Number of labelled rows. */
  count: number;
}

/** Evaluation sums over one batch (add them up over batches, divide at the end). */
export interface EvalResult {
  /** Sum of cross-entropies over labelled rows. */
  lossSum: number;
  count: number;
  /** Labelled rows whose label has the highest logit (ties counted against). */
  top1: number;
  /** Labelled rows whose label is among the 5 highest logits. */
  top5: number;
}

/**
 * The model: parameters, gradients and every activation buffer.
 *
 * @example
 *   const be = new TsBackend();
 *   const model = new MlmModel(be, { vocabSize: 50, dModel: 16, numLayers: 2, numHeads: 2, dFF: 32 }, { maxRows: 64, maxSeqs: 8 });
 *   model.init(new Rng(1));
 *   const batch = batchOf([{ ids: [1, 7, 9, 2], labels: [-100, 8, -100, -100] }]);
 *   const { loss } = model.forwardBackward(batch, { dropoutRng: Rng.derive(1, "dropout") });
 *   // model.grads now holds d loss / d params, in the layout of model.specs
 */
export class MlmModel {
  readonly config: ModelConfig;
  readonly capacity: Readonly<Required<ModelCapacity>>;
  /** Named tensors of the flat buffers, in a fixed order. */
  readonly specs: ParamSpec[];
  /** All parameters, flat (backend memory). */
  readonly params: Float32Array;
  /** Number of real parameters (without alignment gaps). */
  readonly numParams: number;

  /** Embedding, blocks and final LayerNorm, over views of params and passGrads. */
  private readonly encoder: Encoder;
  private readonly headP: HeadTensors;
  private readonly headG: HeadTensors;
  private readonly head: HeadActivations;
  private pooling: { pooler: Pooler; out: Float32Array } | null = null; // sentence vectors, made on the first `embed`
  private readonly headRows: Int32Array; // [maxRows] labelled rows in order (sparse head's rows), in backend memory
  /** Gradients of the last pass, in the layout of `params` (the block and head views point here). */
  private readonly passGrads: Float32Array;
  /** Gradient accumulation over passes, into a second buffer when capacity.accumulate. */
  private readonly accumulator: GradientAccumulator;
  /** Whether `grads` is the accumulator's sum (after an accumulation of several passes) rather than passGrads. */

  constructor(
    readonly backend: Backend,
    config: Partial<ModelConfig> = {},
    capacity: ModelCapacity,
  ) {
    const cfg = modelConfigOf(config);
    this.config = cfg;
    this.capacity = resolveCapacity(capacity);
    const { maxRows, maxSeqs, maxHeadRows, accumulate } = this.capacity;
    const { specs, total } = paramLayout(cfg);
    this.specs = specs;
    this.numParams = specs.reduce((a, s) => a + s.size, 0);
    this.params = backend.alloc(total);
    this.passGrads = backend.alloc(total);
    this.encoder = new Encoder(backend, cfg, specs, this.params, this.passGrads, maxRows, maxSeqs);
    this.headP = headTensors(specs, this.params, cfg.tieOutput);
    this.headG = headTensors(specs, this.passGrads, cfg.tieOutput);
    this.head = new HeadActivations(backend, maxHeadRows, cfg);
    this.headRows = backend.allocInt(maxRows);
    this.accumulator = new GradientAccumulator(
      "MlmModel",
      backend,
      this.passGrads,
      accumulate ? backend.alloc(total) : null,
    );
  }

  /**
   * All gradients, in the layout of `params`: d(mean loss)/d params of the last pass, or after
   * `endAccumulation` of several passes their token-weighted mean.
   */
  get grads(): Float32Array {
    return this.accumulator.grads;
  }

  /**
   * This model when its buffers hold batches of `capacity`, else a larger model (the larger of each
   * bound) on the same backend with a copy of the weights. The old buffers are not freed: on the wasm
   * backend its heap never shrinks, so grow once, to the largest batch.
   */
  grownTo(capacity: ModelCapacity): MlmModel {
    const have = this.capacity;
    const need = resolveCapacity(capacity);
    if (
      need.maxRows <= have.maxRows &&
      need.maxSeqs <= have.maxSeqs &&
      need.maxHeadRows <= have.maxHeadRows &&
      (!need.accumulate || have.accumulate)
    )
      return this;
    const grown = new MlmModel(this.backend, this.config, {
      maxRows: Math.max(need.maxRows, have.maxRows),
      maxSeqs: Math.max(need.maxSeqs, have.maxSeqs),
      maxHeadRows: Math.max(need.maxHeadRows, have.maxHeadRows),
      accumulate: need.accumulate || have.accumulate,
    });
    grown.loadTensors(this.tensors());
    return grown;
  }

  /** Fills the parameters with Haiku's default initialisation (see params.ts), from `rng`. */
  init(rng: Rng): void {
    initParams(this.specs, this.params, rng);
  }

  /** Views of the parameter tensors (no copy), e.g. for checkpoints. */
  tensors(): NamedTensor[] {
    return tensorViews(this.specs, this.params);
  }

  /** Copies named tensors into the parameters; names and shapes must match `specs` exactly. */
  loadTensors(tensors: Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> }>): void {
    loadTensors(this.specs, this.params, tensors);
  }

  /** 1 where AdamW weight decay applies (matrices), over the flat buffer. */
  decayMask(): Uint8Array {
    return decayMask(this.specs, this.params.length);
  }

  /**
   * Loss and gradients of one batch: `grads` becomes d(mean loss)/d params (a batch with no label gives
   * loss 0 and zero gradients), or with `opts.accumulate` joins the open accumulation.
   */
  forwardBackward(batch: Batch, opts: PassOptions = {}): StepResult {
    return this.accumulator.run(opts.accumulate ?? false, () => this.backprop(batch, opts));
  }

  /**
   * Ends a gradient-accumulation step: `grads` holds the gradients of its passes, weighted by their
   * labelled rows and divided by all their labelled rows (the gradient of one batch holding all their
   * sentences; one pass: its own gradient, untouched). Returns the mean loss over those rows.
   */
  endAccumulation(): StepResult {
    return this.accumulator.end();
  }

  /** Forward and backward of one batch into passGrads (zeroed first). */
  private backprop(batch: Batch, opts: PassOptions): StepResult {
    const enc = this.encoder;
    const rows = enc.prepare(batch, "MlmModel");
    const drop = enc.dropoutCtx(opts.train ?? true, opts.dropoutRng, "MlmModel");
    enc.forward(rows, drop);
    const fullHead = opts.fullHead ?? DEFAULT_CONFIG.fullHead;
    const count = this.collectLabels(batch);
    this.passGrads.fill(0); // once: the head's chunks and the blocks accumulate into it
    if (count === 0) return { loss: 0, count: 0 };
    const cfg = this.config;
    const be = this.backend;
    const T = rows.T;
    const C = cfg.dModel;

    // Head, chunk by chunk: forward, loss, backward into dX [T,C] (rows without a label get 0)
    const dX = enc.dOutput;
    if (!fullHead) dX.fill(0, 0, T * C);
    const total = fullHead ? T : count;
    const chunk = this.capacity.maxHeadRows;
    let lossSum = 0;
    for (let r0 = 0; r0 < total; r0 += chunk) {
      const R = Math.min(chunk, total - r0);
      const x = this.headInput(batch, fullHead, r0, R);
      headForward(be, cfg, this.headP, this.head, x, R);
      lossSum += headLoss(be, cfg, this.head, R, 1 / count);
      if (fullHead) {
        headBackward(be, cfg, this.headP, this.headG, this.head, x, dX.subarray(r0 * C, (r0 + R) * C), R);
      } else {
        headBackward(be, cfg, this.headP, this.headG, this.head, x, this.head.dhx, R);
        be.scatterAddRows(dX, this.head.dhx, this.headRows.subarray(r0, r0 + R), R, C, 1);
      }
    }
    enc.backward(rows, drop);
    return { loss: lossSum / count, count };
  }

  /** Loss sums and top-1/top-5 hits at labelled rows, without dropout and without gradients. */
  evaluate(batch: Batch, opts: Pick<PassOptions, "fullHead"> = {}): EvalResult {
    const rows = this.encoder.prepare(batch, "MlmModel");
    this.encoder.forward(rows, null);
    const fullHead = opts.fullHead ?? DEFAULT_CONFIG.fullHead;
    const count = this.collectLabels(batch);
    const res: EvalResult = { lossSum: 0, count, top1: 0, top5: 0 };
    if (count === 0) return res;
    const total = fullHead ? rows.T : count;
    const chunk = this.capacity.maxHeadRows;
    for (let r0 = 0; r0 < total; r0 += chunk) {
      const R = Math.min(chunk, total - r0);
      const x = this.headInput(batch, fullHead, r0, R);
      headForward(this.backend, this.config, this.headP, this.head, x, R);
      res.lossSum += headLoss(this.backend, this.config, this.head, R, null);
      this.countTopK(R, res);
    }
    return res;
  }

  /** Adds the top-1/top-5 hits of the head's R rows (logits and labels of the last chunk) to `res`. */
  private countTopK(R: number, res: EvalResult): void {
    const V = this.config.vocabSize;
    const { logits, labels } = this.head;
    for (let r = 0; r < R; r++) {
      const label = labels[r];
      if (label < 0) continue;
      const o = r * V;
      const target = logits[o + label];
      let above = 0; // logits at least as high as the label's, other than the label itself
      for (let c = 0; c < V && above < 5; c++) if (c !== label && logits[o + c] >= target) above++;
      if (above === 0) res.top1++;
      if (above < 5) res.top5++;
    }
  }

  /**
   * Logits [rows.length, V] at the given packed rows (inference, e.g. fill-mask at [MASK] rows).
   * The returned view is overwritten by the next call.
   */
  logits(batch: Batch, rowIndices: ArrayLike<number>): Float32Array {
    const info = this.encoder.prepare(batch, "MlmModel");
    const R = rowIndices.length;
    if (R > this.capacity.maxHeadRows)
      throw new Error(
        `MlmModel.logits: ${R} rows requested at once, at most capacity.maxHeadRows = ${this.capacity.maxHeadRows}; ask in several calls`,
      );
    for (let r = 0; r < R; r++) {
      const row = rowIndices[r];
      if (!(Number.isInteger(row) && row >= 0 && row < info.T))
        throw new Error(`MlmModel.logits: row ${row} is outside the batch's ${info.T} rows`);
      this.headRows[r] = row;
    }
    this.encoder.forward(info, null);
    const C = this.config.dModel;
    this.backend.gatherRows(this.head.hx, this.encoder.output(), this.headRows, R, C);
    headForward(this.backend, this.config, this.headP, this.head, this.head.hx, R);
    return this.head.logits.subarray(0, R * this.config.vocabSize);
  }

  /**
   * Sentence vectors [B,C] pooled from the encoder's output ("cls": the first row, "mean": the mean of
   * the real rows; see pooling.ts), without dropout. The view is overwritten by the next call.
   */
  embed(batch: Batch, pooling: Pooling): Float32Array {
    const rows = this.encoder.prepare(batch, "MlmModel");
    this.encoder.forward(rows, null);
    const { maxRows, maxSeqs } = this.capacity;
    const C = this.config.dModel;
    this.pooling ??= { pooler: new Pooler(this.backend, maxRows, maxSeqs), out: this.backend.alloc(maxSeqs * C) };
    const out = this.pooling.out.subarray(0, batch.numSeqs * C);
    this.pooling.pooler.forward(pooling, out, this.encoder.output(), rows.seqs, batch.numSeqs, rows.T, C);
    return out;
  }

  /**
   * Checks the labels and lists the labelled rows, in order, in headRows (the sparse head's rows).
   * Returns their count.
   */
  private collectLabels(batch: Batch): number {
    const T = batch.rows;
    const V = this.config.vocabSize;
    let count = 0;
    for (let t = 0; t < T; t++) {
      const label = batch.labels[t];
      if (label < 0) continue;
      if (label >= V) throw new Error(`MlmModel: label ${label} at row ${t} is outside the vocabulary of ${V}`);
      this.headRows[count++] = t;
    }
    return count;
  }

  /**
   * The head's input for its rows r0 .. r0+R-1 (R <= maxHeadRows), and their labels in head.labels:
   * packed rows r0.. of the encoder output in place (full head), or labelled rows headRows[r0..]
   * gathered into head.hx (sparse head).
   */
  private headInput(batch: Batch, fullHead: boolean, r0: number, R: number): Float32Array {
    const C = this.config.dModel;
    const last = this.encoder.output();
    if (fullHead) {
      this.head.labels.set(batch.labels.subarray(r0, r0 + R));
      return last.subarray(r0 * C, (r0 + R) * C);
    }
    for (let r = 0; r < R; r++) this.head.labels[r] = batch.labels[this.headRows[r0 + r]]!;
    this.backend.gatherRows(this.head.hx, last, this.headRows.subarray(r0, r0 + R), R, C);
    return this.head.hx;
  }
}
