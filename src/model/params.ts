/**
 * Parameter layout: every tensor of the model lives in one flat Float32Array, at an offset given by
 * its `ParamSpec`. Gradients and optimizer moments use the same layout. Names are stable: they are
 * the keys written to checkpoints (safetensors).
 *
 * Weight decay (AdamW, optional): applied to matrices only (rank-2 tensors: the embedding, every
 * linear weight), never to biases or layer-norm scales and offsets, as nanoGPT does.
 */
import type { Rng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import { positionalEncoding } from "./layers.js";

/** One named tensor inside the flat parameter buffer. */
export interface ParamSpec {
  /** Stable name, e.g. `layers.0.attn.q.weight`. */
  name: string;
  /** Row-major shape; linear weights are [in, out]. */
  shape: number[];
  /** First element in the flat buffer (a multiple of ALIGN). */
  offset: number;
  /** Number of elements (product of shape). */
  size: number;
  /** Whether AdamW weight decay applies (rank-2 tensors). */
  decay: boolean;
  /**
   * How `initParams` fills it: "normal" draws a truncated normal of std `std`; "sinusoid" copies the
   * sinusoidal table (learned positions start from it, drawing nothing).
   */
  init: "normal" | "zeros" | "ones" | "sinusoid";
  /** Standard deviation of a "normal" init (0 otherwise). */
  std: number;
}

/** Offsets are rounded up to 16 floats (64 bytes) so SIMD kernels see aligned tensors. */
const ALIGN = 16;

/** Appends named tensors to a layout, each at an aligned offset. */
export class LayoutBuilder {
  readonly specs: ParamSpec[] = [];
  total = 0;

  add(name: string, shape: number[], init: ParamSpec["init"], std = 0): void {
    const size = shape.reduce((a, b) => a * b, 1);
    this.specs.push({ name, shape, offset: this.total, size, decay: shape.length === 2, init, std });
    this.total += Math.ceil(size / ALIGN) * ALIGN;
  }

  /** A linear layer [nIn, nOut], Haiku's init: weight std 1/sqrt(fan_in), bias 0. */
  linear(name: string, nIn: number, nOut: number): void {
    this.add(`${name}.weight`, [nIn, nOut], "normal", 1 / Math.sqrt(nIn));
    this.add(`${name}.bias`, [nOut], "zeros");
  }

  /** A layer norm over C features: scale 1, offset 0. */
  norm(name: string, C: number): void {
    this.add(`${name}.scale`, [C], "ones");
    this.add(`${name}.offset`, [C], "zeros");
  }
}

/**
 * The encoder's tensors (embedding, blocks, the final LayerNorm of pre-norm), in a fixed order; the
 * head of the task comes after them (`paramLayout`, or the classifier's layout).
 */
export function addEncoderTensors(b: LayoutBuilder, cfg: ModelConfig): void {
  const { vocabSize: V, dModel: C, dFF: F, numLayers } = cfg;
  b.add("embed.weight", [V, C], "normal", cfg.embedInitStd);
  if (cfg.positions === "learned") b.add("embed.positions", [cfg.maxLen, C], "sinusoid");
  if (cfg.embedding === "layernorm") b.norm("embed.ln", C);
  for (let l = 0; l < numLayers; l++) {
    const p = `layers.${l}`;
    b.linear(`${p}.attn.q`, C, C);
    b.linear(`${p}.attn.k`, C, C);
    b.linear(`${p}.attn.v`, C, C);
    b.linear(`${p}.attn.out`, C, C);
    b.norm(`${p}.ln1`, C);
    b.linear(`${p}.ffn.fc1`, C, F);
    b.linear(`${p}.ffn.fc2`, F, C);
    b.norm(`${p}.ln2`, C);
  }
  if (cfg.norm === "pre") b.norm("final.ln", C);
}

/**
 * The masked language model's tensors in a fixed order, and the total length of the flat buffer (with
 * alignment gaps, which stay zero). Options add or remove tensors: `embed.positions` [maxLen, C] with
 * learned positions, `final.ln` with pre-norm, and no `head.out.weight` when the output is tied to the
 * embedding. Random inits draw in this order, and the optional tensors draw nothing, so the
 * tutorial's model gets the same values from a seed whatever options exist.
 */
export function paramLayout(cfg: ModelConfig): { specs: ParamSpec[]; total: number } {
  const b = new LayoutBuilder();
  addEncoderTensors(b, cfg);
  const { vocabSize: V, dModel: C } = cfg;
  b.linear("head.dense", C, C);
  b.norm("head.ln", C);
  if (cfg.tieOutput) b.add("head.out.bias", [V], "zeros");
  else b.linear("head.out", C, V);
  return { specs: b.specs, total: b.total };
}

/**
 * Haiku's default initialisation: weights truncated normal (cut at 2 std) with each spec's std
 * (linear: 1/sqrt(fan_in); embedding: embedInitStd, Haiku's 1 by default), biases and offsets 0,
 * scales 1, learned positions the sinusoid. Draws in spec order, so a seed gives the same model
 * every time.
 */
export function initParams(specs: ParamSpec[], params: Float32Array, rng: Rng): void {
  params.fill(0);
  for (const s of specs) {
    const view = params.subarray(s.offset, s.offset + s.size);
    if (s.init === "ones") view.fill(1);
    else if (s.init === "sinusoid") view.set(positionalEncoding(s.shape[0], s.shape[1]));
    else if (s.init === "normal") for (let i = 0; i < s.size; i++) view[i] = rng.truncatedNormal(s.std);
  }
}

/** A named float32 tensor, row-major with `shape`'s product elements (from `tensorViews`: a view, no copy). */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Views of every tensor of `flat` (params, grads or a moment buffer), in spec order. */
export function tensorViews(specs: ParamSpec[], flat: Float32Array): NamedTensor[] {
  return specs.map((s) => ({ name: s.name, shape: s.shape.slice(), data: flat.subarray(s.offset, s.offset + s.size) }));
}

/**
 * Copies named tensors into `flat`. Every spec must be present with the same shape; extra names
 * are an error too, so a checkpoint from another architecture is never half-loaded.
 */
export function loadTensors(
  specs: ParamSpec[],
  flat: Float32Array,
  tensors: Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> }>,
): void {
  const byName = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  for (const t of tensors) byName.set(t.name, t);
  for (const s of specs) {
    const t = byName.get(s.name);
    if (t === undefined) throw new Error(`loadTensors: missing tensor '${s.name}'`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(
        `loadTensors: tensor '${s.name}' has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`,
      );
    }
    if (t.data.length !== s.size)
      throw new Error(`loadTensors: tensor '${s.name}' has ${t.data.length} values, expected ${s.size}`);
    flat.set(t.data, s.offset);
    byName.delete(s.name);
  }
  if (byName.size > 0)
    throw new Error(`loadTensors: unexpected tensor(s) ${[...byName.keys()].map((n) => `'${n}'`).join(", ")}`);
}

/** 1 where weight decay applies, 0 elsewhere (alignment gaps included), over the flat buffer. */
export function decayMask(specs: ParamSpec[], total: number): Uint8Array {
  const mask = new Uint8Array(total);
  for (const s of specs) if (s.decay) mask.fill(1, s.offset, s.offset + s.size);
  return mask;
}

/** The spec with this name; throws when absent. */
export function findSpec(specs: ParamSpec[], name: string): ParamSpec {
  const s = specs.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no parameter named '${name}'`);
  return s;
}

/** The view (no copy) of tensor `name` in `flat` (parameters or gradients, laid out by `specs`). */
export function tensorView(specs: ParamSpec[], flat: Float32Array, name: string): Float32Array {
  const s = findSpec(specs, name);
  return flat.subarray(s.offset, s.offset + s.size);
}
