/**
 * The encoder shared by every task (the masked language model, the classifier), on packed rows (a
 * Batch, see data/batch.ts), C = dModel:
 *
 *   x0 = dropout(embed[ids] * sqrt(C) + PE[positions])          [T,C]
 *        or, with embedding "layernorm" (BERT's):
 *   x0 = dropout(LayerNorm_embed(embed[ids] + PE[positions]))    [T,C]
 *   x  = block_l(x) for l = 0 .. numLayers-1                     [T,C]
 *   x  = LayerNorm_final(x)           (pre-norm only)            [T,C]
 *
 * PE is the sinusoid, the sinusoid times sqrt(C), or a learned table `embed.positions` [maxLen, C];
 * block.ts says how the other options change the blocks. The encoder holds views of its tensors in
 * the task model's flat parameter and gradient buffers, and every activation buffer, allocated once
 * for the capacity given. A task runs `prepare`, `forward`, its head on `output()`, then writes the
 * gradient at the output into `dOutput` and calls `backward`.
 */
import type { Backend } from "../engine/backend.js";
import type { Rng } from "../util/rng.js";
import type { Batch } from "../data/batch.js";
import {
  BlockActivations,
  blockBackward,
  blockForward,
  blockOutput,
  BlockScratch,
  blockTensors,
  type BlockTensors,
  type DropoutCtx,
  type RowsInfo,
} from "./block.js";
import { dropoutRates, type DropoutRates, type ModelConfig } from "./config.js";
import { positionalEncoding } from "./layers.js";
import { tensorView, type ParamSpec } from "./params.js";

/** The final LayerNorm of a pre-norm model: its tensors, output, statistics and incoming gradient. */
interface FinalNorm {
  scale: Float32Array;
  offset: Float32Array;
  dScale: Float32Array;
  dOffset: Float32Array;
  out: Float32Array; // [T,C]
  mean: Float32Array;
  rstd: Float32Array; // [T]
  dOut: Float32Array; // [T,C] gradient at its output
}

/** A LayerNorm `name` of the encoder: views of its tensors and gradients, and its buffers for maxRows rows. */
function normBuffers(
  backend: Backend,
  specs: ParamSpec[],
  params: Float32Array,
  grads: Float32Array,
  name: string,
  maxRows: number,
  C: number,
): FinalNorm {
  return {
    scale: tensorView(specs, params, `${name}.scale`),
    offset: tensorView(specs, params, `${name}.offset`),
    dScale: tensorView(specs, grads, `${name}.scale`),
    dOffset: tensorView(specs, grads, `${name}.offset`),
    out: backend.alloc(maxRows * C),
    mean: backend.alloc(maxRows),
    rstd: backend.alloc(maxRows),
    dOut: backend.alloc(maxRows * C),
  };
}

export class Encoder {
  /** Each dropout place's rate (the configuration's, resolved once). */
  readonly rates: DropoutRates;
  /** [T,C] the gradient at the encoder's output: the task's head writes it before `backward`. */
  readonly dOutput: Float32Array;
  /** [maxRows] the batch's token ids, in backend memory. */
  readonly ids: Int32Array;
  /** [3 * maxSeqs] the batch's sequences, in backend memory. */
  readonly seqs: Int32Array;

  private readonly pe: Float32Array; // [maxLen, C] in backend memory (a view of params when learned)
  private readonly peG: Float32Array | null; // its gradient, when learned
  private readonly embedW: Float32Array;
  private readonly embedG: Float32Array;
  private readonly final: FinalNorm | null;
  /** BERT's embedding LayerNorm; its `out` holds the sum embed[ids] + PE (the norm's input), `dOut` its gradient. */
  private readonly embedNorm: FinalNorm | null;
  private readonly blockP: BlockTensors[] = [];
  private readonly blockG: BlockTensors[] = [];
  private readonly acts: BlockActivations[] = [];
  private readonly scratch: BlockScratch;
  private readonly x0: Float32Array; // [T,C] embedding output (block 0 input)
  private seedEmb = 0; // seed of the embedding dropout mask of the last training forward
  private readonly positions: Int32Array; // [maxRows]
  private readonly maxProbs: number;

  /**
   * @param params, grads the task model's flat buffers, laid out by `specs` (which hold the encoder's
   *   tensors, see params.ts addEncoderTensors)
   */
  constructor(
    private readonly backend: Backend,
    readonly config: ModelConfig,
    specs: ParamSpec[],
    params: Float32Array,
    grads: Float32Array,
    readonly maxRows: number,
    readonly maxSeqs: number,
  ) {
    const cfg = config;
    this.rates = dropoutRates(cfg);
    const { dModel: C, dFF: F, numHeads: H, numLayers } = cfg;
    this.embedW = tensorView(specs, params, "embed.weight");
    this.embedG = tensorView(specs, grads, "embed.weight");
    // sum over sequences of L^2 <= (longest L) * (sum of L) <= min(maxLen, maxRows) * maxRows
    this.maxProbs = Math.min(cfg.maxLen, maxRows) * maxRows * H;
    for (let l = 0; l < numLayers; l++) {
      this.blockP.push(blockTensors(specs, params, l));
      this.blockG.push(blockTensors(specs, grads, l));
      this.acts.push(new BlockActivations(backend, maxRows, this.maxProbs, C, F, cfg.activation === "gelu"));
    }
    this.scratch = new BlockScratch(backend, maxRows, C, F);
    if (cfg.positions === "learned") {
      this.pe = tensorView(specs, params, "embed.positions");
      this.peG = tensorView(specs, grads, "embed.positions");
    } else {
      this.pe = backend.alloc(cfg.maxLen * C);
      this.pe.set(positionalEncoding(cfg.maxLen, C));
      if (cfg.positions === "scaled-sinusoidal")
        backend.scaleAdd(this.pe, this.pe, this.pe.length, Math.sqrt(C), false);
      this.peG = null;
    }
    this.final = cfg.norm === "pre" ? normBuffers(backend, specs, params, grads, "final.ln", maxRows, C) : null;
    this.embedNorm =
      cfg.embedding === "layernorm" ? normBuffers(backend, specs, params, grads, "embed.ln", maxRows, C) : null;
    this.x0 = backend.alloc(maxRows * C);
    this.dOutput = backend.alloc(maxRows * C);
    this.seqs = backend.allocInt(3 * maxSeqs);
    this.ids = backend.allocInt(maxRows);
    this.positions = backend.allocInt(maxRows);
  }

  /**
   * Checks that the batch fits: the buffers (rows, sequences, attention weights), the positional
   * table (maxLen) and the vocabulary; copies the batch into backend memory. The batch's own layout
   * (sequences cover the rows in order, positions 0..L-1) was checked where it was made. `who` names
   * the model in errors.
   */
  prepare(batch: Batch, who: string): RowsInfo {
    const { rows: T, numSeqs } = batch;
    const { vocabSize: V, maxLen, numHeads: H } = this.config;
    if (T > this.maxRows) throw new Error(`${who}: batch has ${T} rows, capacity.maxRows is ${this.maxRows}`);
    if (numSeqs > this.maxSeqs)
      throw new Error(`${who}: batch has ${numSeqs} sequences, capacity.maxSeqs is ${this.maxSeqs}`);
    let probs = 0;
    for (let s = 0; s < numSeqs; s++) {
      const L = batch.seqs[3 * s + 1];
      if (L > maxLen) throw new Error(`${who}: sequence ${s} has ${L} rows, more than maxLen = ${maxLen}`);
      probs += L * L * H;
    }
    if (probs > this.maxProbs)
      throw new Error(`${who}: attention needs ${probs} weights, capacity allows ${this.maxProbs}`);
    for (let t = 0; t < T; t++) {
      const id = batch.ids[t];
      if (!(id >= 0 && id < V)) throw new Error(`${who}: token id ${id} at row ${t} is outside the vocabulary of ${V}`);
    }
    this.seqs.set(batch.seqs.subarray(0, 3 * numSeqs));
    this.ids.set(batch.ids.subarray(0, T));
    this.positions.set(batch.positions.subarray(0, T));
    return { T, seqs: this.seqs, numSeqs };
  }

  /** Dropout of a training pass: null when every place's rate is 0 (then no seed is drawn either). */
  dropoutCtx(train: boolean, rng: Rng | undefined, who: string): DropoutCtx | null {
    const p = this.rates;
    if (!train || (p.embedding === 0 && p.attention === 0 && p.hidden === 0 && p.residual === 0)) return null;
    if (rng === undefined) throw new Error(`${who}: training with dropout needs opts.dropoutRng`);
    return { p, rng };
  }

  /** The encoder's output [T,C] after `forward`: the last block's, or the final LayerNorm's. */
  output(): Float32Array {
    const cfg = this.config;
    return this.final !== null ? this.final.out : blockOutput(cfg, this.acts[cfg.numLayers - 1]);
  }

  /** Embedding, dropout, every block and the final LayerNorm (pre-norm); the result is `output()`. */
  forward(rows: RowsInfo, drop: DropoutCtx | null): void {
    const cfg = this.config;
    const C = cfg.dModel;
    const T = rows.T;
    const be = this.backend;
    const e = this.embedNorm;
    if (e === null) be.embeddingForward(this.x0, this.ids, this.positions, this.embedW, this.pe, T, C, Math.sqrt(C));
    else {
      be.embeddingForward(e.out, this.ids, this.positions, this.embedW, this.pe, T, C, 1);
      be.layerNormForward(this.x0, e.mean, e.rstd, e.out, e.scale, e.offset, T, C, cfg.lnEps);
    }
    if (drop !== null) {
      this.seedEmb = drop.rng.u32();
      if (drop.p.embedding > 0) be.dropout(this.x0, this.x0, T * C, drop.p.embedding, this.seedEmb);
    }
    let x = this.x0;
    for (let l = 0; l < cfg.numLayers; l++) {
      blockForward(be, cfg, this.blockP[l], this.acts[l], this.scratch, x, rows, drop);
      x = blockOutput(cfg, this.acts[l]);
    }
    const f = this.final;
    if (f !== null) be.layerNormForward(f.out, f.mean, f.rstd, x, f.scale, f.offset, T, C, cfg.lnEps);
  }

  /**
   * Backward from `dOutput` [T,C] (overwritten: it carries the gradient down the blocks) to every
   * encoder tensor; gradients accumulate into the grads buffer. `drop` is the forward's.
   */
  backward(rows: RowsInfo, drop: DropoutCtx | null): void {
    const cfg = this.config;
    const be = this.backend;
    const T = rows.T;
    const C = cfg.dModel;
    const dX = this.dOutput;
    // dX is both the gradient at a block's output and at its input (the last block's output gradient
    // comes from the final LayerNorm, when there is one).
    const rates = drop === null ? null : drop.p;
    const last = cfg.numLayers - 1;
    const f = this.final;
    if (f !== null) {
      const out = blockOutput(cfg, this.acts[last]);
      be.layerNormBackward(f.dOut, f.dScale, f.dOffset, dX, out, f.scale, f.mean, f.rstd, T, C);
    }
    for (let l = last; l >= 0; l--) {
      const input = l === 0 ? this.x0 : blockOutput(cfg, this.acts[l - 1]);
      const dOut = l === last && f !== null ? f.dOut : dX;
      blockBackward(be, cfg, this.blockP[l], this.blockG[l], this.acts[l], this.scratch, input, dOut, dX, rows, rates);
    }
    // x0 = dropout(embed[ids] * sqrt(C) + PE[positions]), or dropout(LayerNorm(embed[ids] + PE[positions]))
    if (rates !== null && rates.embedding > 0) be.dropout(dX, dX, T * C, rates.embedding, this.seedEmb);
    const e = this.embedNorm;
    let dSum = dX; // [T,C] gradient at embed[ids] * scale + PE
    if (e !== null) {
      be.layerNormBackward(e.dOut, e.dScale, e.dOffset, dX, e.out, e.scale, e.mean, e.rstd, T, C);
      dSum = e.dOut;
    }
    be.scatterAddRows(this.embedG, dSum, this.ids, T, C, e === null ? Math.sqrt(C) : 1);
    if (this.peG !== null) be.scatterAddRows(this.peG, dSum, this.positions, T, C, 1);
  }
}
