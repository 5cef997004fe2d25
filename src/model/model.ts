/**
 * The tutorial's masked language model (see NOTES §3), on packed rows:
 *
 *   x0 = dropout(embed[ids] * sqrt(C) + PE[positions])          [T,C]
 *   x  = block_l(x) for l = 0 .. numLayers-1 (post-norm)         [T,C]
 *   logits = head(x[rows])                                      [R,V]
 *   loss = sum of cross-entropies at labelled rows / their count
 *
 * The head runs only at labelled rows by default ("sparse prediction": same loss and gradients,
 * a fraction of the work, since the 25000-way output layer dominates); `fullHead` runs it on every
 * row as the tutorial does. All buffers are allocated once in the constructor for the capacity
 * given and reused on every step.
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../engine/rng.js";
import type { PackedBatch } from "./batch.js";
import { BlockActivations, blockBackward, blockForward, BlockScratch, blockTensors, type BlockTensors, type DropoutCtx, type RowsInfo } from "./block.js";
import { resolveConfig, type ModelConfig } from "./config.js";
import { HeadActivations, headBackward, headForward, headLoss, headTensors, type HeadTensors } from "./head.js";
import { positionalEncoding } from "./layers.js";
import { decayMask, findSpec, initParams, loadTensors, paramLayout, tensorViews, type NamedTensor, type ParamSpec } from "./params.js";

/**
 * The largest batch a model instance will see; buffers are sized from it once. Memory, in float32s:
 * per block about maxRows * (8 C + F) plus the attention weights min(maxLen, maxRows) * maxRows * H;
 * the head's logits maxHeadRows * V (the largest single buffer: keep maxHeadRows near the most
 * labelled rows of a batch, e.g. a quarter of maxRows at a 15% mask rate, unless using the full head).
 */
export interface ModelCapacity {
  /** Most packed rows T in one batch (batch size * max length when padded). */
  maxRows: number;
  /** Most sequences in one batch. */
  maxSeqs: number;
  /** Most rows the head runs on: labelled rows (sparse head) or all rows (full head). Default maxRows. */
  maxHeadRows?: number;
}

/** Options of a training or evaluation pass. */
export interface PassOptions {
  /** Apply dropout (training mode). Default true in `forwardBackward`, always false in `evaluate`. */
  train?: boolean;
  /** Generator for dropout masks; required when training with dropout > 0. */
  dropoutRng?: Rng;
  /** Run the head on every row instead of labelled rows only (the tutorial's way; same loss). */
  fullHead?: boolean;
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
 *   const batch = packBatch(padded, "unpadded");
 *   const { loss } = model.forwardBackward(batch, { dropoutRng: Rng.derive(1, "dropout") });
 *   // model.grads now holds d loss / d params, in the layout of model.specs
 */
export class MlmModel {
  readonly config: ModelConfig;
  readonly capacity: Required<ModelCapacity>;
  /** Named tensors of the flat buffers, in a fixed order. */
  readonly specs: ParamSpec[];
  /** All parameters, flat (backend memory). */
  readonly params: Float32Array;
  /** All gradients, same layout; filled by `forwardBackward`. */
  readonly grads: Float32Array;
  /** Number of real parameters (without alignment gaps). */
  readonly numParams: number;

  private readonly pe: Float32Array; // [maxLen, C] in backend memory
  private readonly embedW: Float32Array;
  private readonly embedG: Float32Array;
  private readonly blockP: BlockTensors[];
  private readonly blockG: BlockTensors[];
  private readonly headP: HeadTensors;
  private readonly headG: HeadTensors;
  private readonly acts: BlockActivations[];
  private readonly scratch: BlockScratch;
  private readonly head: HeadActivations;
  private readonly x0: Float32Array; // [T,C] embedding output (block 0 input)
  private seedEmb = 0; // seed of the embedding dropout mask of the last training forward
  private readonly dX: Float32Array; // [T,C] gradient flowing down the blocks
  private readonly seqs: Int32Array; // [3 * maxSeqs] in backend memory
  private readonly ids: Int32Array; // [maxRows] the batch's token ids, in backend memory
  private readonly positions: Int32Array; // [maxRows] the batch's positions, in backend memory
  private readonly headRows: Int32Array; // [maxHeadRows] row index of each head row, in backend memory
  private readonly maxProbs: number;

  constructor(readonly backend: Backend, config: Partial<ModelConfig> = {}, capacity: ModelCapacity) {
    const cfg = resolveConfig(config);
    this.config = cfg;
    const { maxRows, maxSeqs } = capacity;
    const maxHeadRows = capacity.maxHeadRows ?? maxRows;
    for (const [k, v] of Object.entries({ maxRows, maxSeqs, maxHeadRows })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`MlmModel: capacity.${k} must be a positive integer, got ${v}`);
    }
    this.capacity = { maxRows, maxSeqs, maxHeadRows };
    const { dModel: C, dFF: F, numHeads: H, numLayers } = cfg;
    const { specs, total } = paramLayout(cfg);
    this.specs = specs;
    this.numParams = specs.reduce((a, s) => a + s.size, 0);
    this.params = backend.alloc(total);
    this.grads = backend.alloc(total);
    const embed = findSpec(specs, "embed.weight");
    this.embedW = this.params.subarray(embed.offset, embed.offset + embed.size);
    this.embedG = this.grads.subarray(embed.offset, embed.offset + embed.size);
    this.blockP = [];
    this.blockG = [];
    this.acts = [];
    // sum over sequences of L^2 <= (longest L) * (sum of L) <= min(maxLen, maxRows) * maxRows
    this.maxProbs = Math.min(cfg.maxLen, maxRows) * maxRows * H;
    for (let l = 0; l < numLayers; l++) {
      this.blockP.push(blockTensors(specs, this.params, l));
      this.blockG.push(blockTensors(specs, this.grads, l));
      this.acts.push(new BlockActivations(backend, maxRows, this.maxProbs, C, F));
    }
    this.headP = headTensors(specs, this.params);
    this.headG = headTensors(specs, this.grads);
    this.scratch = new BlockScratch(backend, maxRows, C, F);
    this.head = new HeadActivations(backend, maxHeadRows, C, cfg.vocabSize);
    this.pe = backend.alloc(cfg.maxLen * C);
    this.pe.set(positionalEncoding(cfg.maxLen, C));
    this.x0 = backend.alloc(maxRows * C);
    this.dX = backend.alloc(maxRows * C);
    this.seqs = backend.allocInt(3 * maxSeqs);
    this.ids = backend.allocInt(maxRows);
    this.positions = backend.allocInt(maxRows);
    this.headRows = backend.allocInt(maxHeadRows);
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
   * Loss and gradients of one batch. Zeroes `grads`, then fills them with d(mean loss)/d params.
   * A batch with no label gives loss 0 and zero gradients.
   */
  forwardBackward(batch: PackedBatch, opts: PassOptions = {}): StepResult {
    const rows = this.prepare(batch);
    const drop = this.dropoutCtx(opts.train ?? true, opts.dropoutRng);
    this.forwardEncoder(rows, drop);
    const { R, count, x } = this.selectHeadRows(batch, opts.fullHead ?? false);
    this.grads.fill(0);
    if (count === 0) return { loss: 0, count: 0 };
    const cfg = this.config;
    const be = this.backend;
    headForward(be, cfg, this.headP, this.head, x, R);
    const lossSum = headLoss(be, cfg, this.head, R, 1 / count);

    // Head backward into dX [T,C]
    const T = rows.T;
    const C = cfg.dModel;
    if (opts.fullHead) {
      headBackward(be, cfg, this.headP, this.headG, this.head, x, this.dX, R);
    } else {
      headBackward(be, cfg, this.headP, this.headG, this.head, x, this.head.dhx, R);
      this.dX.fill(0, 0, T * C);
      be.scatterAddRows(this.dX, this.head.dhx, this.headRows, R, C, 1);
    }
    // Blocks, last to first; dX is both the gradient at a block's output and at its input.
    const dropP = drop === null ? null : drop.p;
    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      const input = l === 0 ? this.x0 : this.acts[l - 1]!.x2;
      blockBackward(be, cfg, this.blockP[l]!, this.blockG[l]!, this.acts[l]!, this.scratch, input, this.dX, this.dX, rows, dropP);
    }
    // x0 = dropout(embed[ids] * sqrt(C) + PE)
    if (dropP !== null) be.dropout(this.dX, this.dX, T * C, dropP, this.seedEmb);
    be.scatterAddRows(this.embedG, this.dX, this.ids, T, C, Math.sqrt(C));
    return { loss: lossSum / count, count };
  }

  /** Loss sums and top-1/top-5 hits at labelled rows, without dropout and without gradients. */
  evaluate(batch: PackedBatch, opts: Pick<PassOptions, "fullHead"> = {}): EvalResult {
    const rows = this.prepare(batch);
    this.forwardEncoder(rows, null);
    const { R, count, x } = this.selectHeadRows(batch, opts.fullHead ?? false);
    if (count === 0) return { lossSum: 0, count: 0, top1: 0, top5: 0 };
    headForward(this.backend, this.config, this.headP, this.head, x, R);
    const lossSum = headLoss(this.backend, this.config, this.head, R, null);
    let top1 = 0;
    let top5 = 0;
    const V = this.config.vocabSize;
    const { logits, labels } = this.head;
    for (let r = 0; r < R; r++) {
      const label = labels[r]!;
      if (label < 0) continue;
      const o = r * V;
      const target = logits[o + label]!;
      let above = 0; // logits at least as high as the label's, other than the label itself
      for (let c = 0; c < V && above < 5; c++) if (c !== label && logits[o + c]! >= target) above++;
      if (above === 0) top1++;
      if (above < 5) top5++;
    }
    return { lossSum, count, top1, top5 };
  }

  /**
   * Logits [rows.length, V] at the given packed rows (inference, e.g. fill-mask at [MASK] rows).
   * The returned view is overwritten by the next call.
   */
  logits(batch: PackedBatch, rowIndices: ArrayLike<number>): Float32Array {
    const info = this.prepare(batch);
    const R = rowIndices.length;
    if (R > this.capacity.maxHeadRows) throw new Error(`MlmModel.logits: ${R} rows requested, capacity.maxHeadRows is ${this.capacity.maxHeadRows}`);
    for (let r = 0; r < R; r++) {
      const row = rowIndices[r]!;
      if (!(Number.isInteger(row) && row >= 0 && row < info.T)) throw new Error(`MlmModel.logits: row ${row} is outside the batch's ${info.T} rows`);
      this.headRows[r] = row;
    }
    this.forwardEncoder(info, null);
    const C = this.config.dModel;
    this.backend.gatherRows(this.head.hx, this.acts[this.config.numLayers - 1]!.x2, this.headRows, R, C);
    headForward(this.backend, this.config, this.headP, this.head, this.head.hx, R);
    return this.head.logits.subarray(0, R * this.config.vocabSize);
  }

  /** The encoder's output [T, C] for a batch (no dropout); a view overwritten by the next call. */
  encode(batch: PackedBatch): Float32Array {
    const info = this.prepare(batch);
    this.forwardEncoder(info, null);
    return this.acts[this.config.numLayers - 1]!.x2.subarray(0, info.T * this.config.dModel);
  }

  /** Checks the batch against the capacity and the config; copies seqs into backend memory. */
  private prepare(batch: PackedBatch): RowsInfo {
    const { rows: T, numSeqs } = batch;
    const { maxRows, maxSeqs } = this.capacity;
    const { vocabSize: V, maxLen, numHeads: H } = this.config;
    if (T > maxRows) throw new Error(`MlmModel: batch has ${T} rows, capacity.maxRows is ${maxRows}`);
    if (numSeqs > maxSeqs) throw new Error(`MlmModel: batch has ${numSeqs} sequences, capacity.maxSeqs is ${maxSeqs}`);
    let probs = 0;
    let covered = 0;
    for (let s = 0; s < numSeqs; s++) {
      const start = batch.seqs[3 * s]!, L = batch.seqs[3 * s + 1]!, K = batch.seqs[3 * s + 2]!;
      if (!(start >= 0 && L >= 0 && start + L <= T && K >= 0 && K <= L)) {
        throw new Error(`MlmModel: sequence ${s} (start ${start}, L ${L}, keys ${K}) does not fit in ${T} rows`);
      }
      probs += L * L * H;
      covered += L;
    }
    if (covered !== T) throw new Error(`MlmModel: sequences cover ${covered} rows, the batch has ${T}`);
    if (probs > this.maxProbs) throw new Error(`MlmModel: attention needs ${probs} weights, capacity allows ${this.maxProbs}`);
    for (let t = 0; t < T; t++) {
      const id = batch.ids[t]!, pos = batch.positions[t]!;
      if (!(id >= 0 && id < V)) throw new Error(`MlmModel: token id ${id} at row ${t} is outside the vocabulary of ${V}`);
      if (!(pos >= 0 && pos < maxLen)) throw new Error(`MlmModel: position ${pos} at row ${t} is outside 0..${maxLen - 1} (maxLen)`);
    }
    this.seqs.set(batch.seqs.subarray(0, 3 * numSeqs));
    this.ids.set(batch.ids.subarray(0, T));
    this.positions.set(batch.positions.subarray(0, T));
    return { T, seqs: this.seqs, numSeqs };
  }

  private dropoutCtx(train: boolean, rng: Rng | undefined): DropoutCtx | null {
    if (!train || this.config.dropout === 0) return null;
    if (rng === undefined) throw new Error("MlmModel: training with dropout needs opts.dropoutRng");
    return { p: this.config.dropout, rng };
  }

  /** Embedding, dropout and every block; the output is in acts[last].x2. */
  private forwardEncoder(rows: RowsInfo, drop: DropoutCtx | null): void {
    const C = this.config.dModel;
    const T = rows.T;
    const be = this.backend;
    be.embeddingForward(this.x0, this.ids, this.positions, this.embedW, this.pe, T, C, Math.sqrt(C));
    if (drop !== null) {
      this.seedEmb = drop.rng.u32();
      be.dropout(this.x0, this.x0, T * C, drop.p, this.seedEmb);
    }
    let x = this.x0;
    for (let l = 0; l < this.config.numLayers; l++) {
      blockForward(this.backend, this.config, this.blockP[l]!, this.acts[l]!, this.scratch, x, rows, drop);
      x = this.acts[l]!.x2;
    }
  }

  /**
   * Chooses the head's rows and fills head.labels: labelled rows gathered into head.hx (sparse), or
   * all rows in place (full). Returns the row count R, the labelled count and the head's input.
   */
  private selectHeadRows(batch: PackedBatch, fullHead: boolean): { R: number; count: number; x: Float32Array } {
    const T = batch.rows;
    const C = this.config.dModel;
    const V = this.config.vocabSize;
    const last = this.acts[this.config.numLayers - 1]!.x2;
    const maxHead = this.capacity.maxHeadRows;
    let count = 0;
    for (let t = 0; t < T; t++) {
      const label = batch.labels[t]!;
      if (label < 0) continue;
      if (label >= V) throw new Error(`MlmModel: label ${label} at row ${t} is outside the vocabulary of ${V}`);
      if (!fullHead) {
        if (count >= maxHead) throw new Error(`MlmModel: batch has more than capacity.maxHeadRows = ${maxHead} labelled rows`);
        this.headRows[count] = t;
      }
      count++;
    }
    if (fullHead) {
      if (T > maxHead) throw new Error(`MlmModel: the full head needs ${T} rows, capacity.maxHeadRows is ${maxHead}`);
      this.head.labels.set(batch.labels.subarray(0, T));
      return { R: T, count, x: last };
    }
    for (let r = 0; r < count; r++) this.head.labels[r] = batch.labels[this.headRows[r]!]!;
    this.backend.gatherRows(this.head.hx, last, this.headRows, count, C);
    return { R: count, count, x: this.head.hx };
  }
}
