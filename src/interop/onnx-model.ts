/**
 * The models as ONNX graphs (opset 17), for ONNX Runtime and transformers.js:
 *
 *   inputs   input_ids [batch, sequence] int64, attention_mask [batch, sequence] int64 (1 real, 0 pad)
 *   x0       = embed[input_ids] * sqrt(C) + P[0 .. sequence-1]           [B,L,C]
 *              or, BERT's embedding, LN_embed(embed[input_ids] + P[0 .. sequence-1])
 *              P: the sinusoidal table, the same times sqrt(C), or the learned embed.positions
 *   x        = block_l(x, mask) for l = 0 .. numLayers-1                [B,L,C]  (post- or pre-norm)
 *   x        = LN_final(x)                                              (pre-norm only)
 *   outputs  logits            = head(x)          [B,L,V]  masked LM (fill-mask)
 *                             = classifier(x)    [B,N]    classifier (text-classification)
 *            last_hidden_state = x                [B,L,C]  (feature-extraction, what `mlm embed` pools)
 *
 * Padding keys get -1e9 added to their attention scores (mlm-ts's kernels score them -1e9), so the
 * outputs at real tokens equal mlm-ts's; those at padding positions mean nothing. No dropout.
 *
 * A sequence longer than the positional table (config.json's `max_position_embeddings`) is an
 * error: the table's rows are gathered at positions Range(0, sequence), by a Gather node named
 * "input longer than max_position_embeddings=<maxLen> tokens: truncate it", and ONNX Runtime's error
 * for an index past the table quotes the node's name. transformers.js truncates to
 * tokenizer_config.json's `model_max_length` (the same maxLen) before it runs the model.
 *
 * Each architecture piece is one function below (token embedding, positions, attention, activation,
 * feed-forward, blocks, heads, pooling), named after what it computes, and `modelGraph` chooses among
 * them by the model's options; an option value it does not know is refused (model-options.ts), never
 * approximated. Weights keep mlm-ts's names and [in, out] layout, which MatMul takes as is.
 *
 * @example
 *   const cfg = modelConfigOf({ vocabSize: 50, dModel: 16, numLayers: 2, numHeads: 2, dFF: 32 });
 *   const tensors = tensorViews(paramLayout(cfg).specs, new Float32Array(paramLayout(cfg).total));
 *   const chunks = encodeModel(mlmOnnxModel(cfg, tensors, "0.1.0")); // model.onnx, written back to back
 */
import {
  classifierLayout,
  paramLayout,
  positionalEncoding,
  type ModelConfig,
  type ClassifierHead,
  type NamedTensor,
  type Pooling,
} from "../model/index.js";
import { checkExportable } from "./model-options.js";
import { GraphBuilder } from "./onnx-graph.js";
import type { OnnxModel } from "./onnx-proto.js";

/** The operator set written, and the IR version that goes with it. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** The score added at padding keys: the value mlm-ts's attention kernels give them. */
const MASKED_SCORE = -1e9;

/** What every piece of the graph needs: the builder, the model's shape and its weights by name. */
interface GraphContext {
  g: GraphBuilder;
  cfg: ModelConfig;
  /** The initializer of the model tensor `name` (mlm-ts's name). */
  w(name: string): string;
}

/** x @ W + b, with W [in, out] as mlm-ts stores it. */
function linear(ctx: GraphContext, x: string, name: string): string {
  const { g } = ctx;
  return g.op("Add", [g.op("MatMul", [x, ctx.w(`${name}.weight`)]), ctx.w(`${name}.bias`)]);
}

/** LayerNormalization over the last axis with mlm-ts's scale and offset. */
function layerNorm(ctx: GraphContext, x: string, name: string): string {
  return ctx.g.op(
    "LayerNormalization",
    [x, ctx.w(`${name}.scale`), ctx.w(`${name}.offset`)],
    { axis: -1, epsilon: ctx.cfg.lnEps },
    ["axis"],
  );
}

/** embed[ids] * sqrt(C) (the "scaled" embedding), or embed[ids] ("layernorm"): [B,L] -> [B,L,C]. */
function tokenEmbedding(ctx: GraphContext, ids: string): string {
  const { g } = ctx;
  const rows = g.op("Gather", [ctx.w("embed.weight"), ids], { axis: 0 }, ["axis"]);
  return ctx.cfg.embedding === "layernorm" ? rows : g.op("Mul", [rows, g.scalar(Math.sqrt(ctx.cfg.dModel))]);
}

/** The encoder's input x0 [B,L,C]: token vectors plus positions, normalised by embed.ln for BERT's embedding. */
function embeddings(ctx: GraphContext, ids: string): string {
  const x = addPositions(ctx, tokenEmbedding(ctx, ids), ids, positionTable(ctx));
  return ctx.cfg.embedding === "layernorm" ? layerNorm(ctx, x, "embed.ln") : x;
}

/** The name of the node that gathers the positional table's rows: ONNX Runtime's error for a longer input quotes it. */
export function positionsNodeName(maxLen: number): string {
  return `input longer than max_position_embeddings=${maxLen} tokens: truncate it`;
}

/**
 * x + P[0 .. L-1], rows of a positional table P [maxLen, C] gathered at positions 0 .. L-1: an input
 * longer than maxLen fails in that Gather, whose name says so (positionsNodeName). The positions are
 * the running sum of L ones, minus 1, rather than Range(0, L): ONNX Runtime's optimizer turns
 * Gather(table, Range(0, L)) into a Slice, which cuts the table to maxLen rows silently and leaves a
 * broadcast failure in the Add.
 */
function addPositions(ctx: GraphContext, x: string, ids: string, table: string): string {
  const { g } = ctx;
  const length = g.op("Shape", [ids], { start: 1, end: 2 }, ["start", "end"]); // [1]: L
  const ones = g.op("Expand", [g.ints([1], []), length]); // [L] int64
  const positions = g.op("Sub", [g.op("CumSum", [ones, g.ints([0], [])]), g.ints([1], [])]); // [L]: 0 .. L-1
  const rows = g.op("Gather", [table, positions], { axis: 0 }, ["axis"], positionsNodeName(ctx.cfg.maxLen)); // [L,C]
  return g.op("Add", [x, rows]);
}

/**
 * The positional table of the model's `positions` option, [maxLen, C]: the fixed sinusoid, the same
 * times sqrt(C) in float32 as mlm-ts scales it, or the trained `embed.positions`.
 */
function positionTable(ctx: GraphContext): string {
  const { g, cfg } = ctx;
  const { maxLen, dModel: C } = cfg;
  switch (cfg.positions) {
    case "sinusoidal":
      return g.weight("positions.sinusoidal", [maxLen, C], positionalEncoding(maxLen, C));
    case "scaled-sinusoidal": {
      const scale = Math.fround(Math.sqrt(C));
      const table = positionalEncoding(maxLen, C).map((v) => scale * v);
      return g.weight("positions.scaled_sinusoidal", [maxLen, C], table);
    }
    case "learned":
      return ctx.w("embed.positions");
  }
}

/** The additive attention mask: 0 at real keys, MASKED_SCORE at padding, [B,1,1,L]. */
function paddingBias(ctx: GraphContext, mask: string): string {
  const { g } = ctx;
  const real = g.op("Cast", [mask], { to: 1 }, ["to"]); // float 1 / 0
  const bias = g.op("Mul", [g.op("Sub", [real, g.scalar(1)]), g.scalar(-MASKED_SCORE)]);
  return g.op("Unsqueeze", [bias, g.ints([1, 2])]);
}

/** Multi-head self-attention of block `p` (q, k, v, out projections): [B,L,C] -> [B,L,C]. */
function selfAttention(ctx: GraphContext, x: string, bias: string, p: string): string {
  const { g, cfg } = ctx;
  const H = cfg.numHeads;
  const D = cfg.dModel / H;
  const heads = (name: string, perm: number[]): string =>
    g.op("Transpose", [g.op("Reshape", [linear(ctx, x, `${p}.${name}`), g.ints([0, 0, H, D])])], { perm }, ["perm"]);
  const q = heads("q", [0, 2, 1, 3]); // [B,H,L,D]
  const kT = heads("k", [0, 2, 3, 1]); // [B,H,D,L]
  const v = heads("v", [0, 2, 1, 3]); // [B,H,L,D]
  const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(1 / Math.sqrt(D))]), bias]); // [B,H,L,L]
  const probs = g.op("Softmax", [scores], { axis: -1 }, ["axis"]);
  const merged = g.op("Transpose", [g.op("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }, ["perm"]); // [B,L,H,D]
  return linear(ctx, g.op("Reshape", [merged, g.ints([0, 0, cfg.dModel])]), `${p}.out`);
}

/**
 * The model's activation, elementwise: Relu, or GELU's tanh approximation as mlm-ts and PyTorch's
 * `gelu(approximate="tanh")` compute it, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from Mul, Add
 * and Tanh (an Erf would be the exact GELU, which differs by up to ~1e-3).
 */
function activation(ctx: GraphContext, x: string): string {
  const { g, cfg } = ctx;
  switch (cfg.activation) {
    case "relu":
      return g.op("Relu", [x]);
    case "gelu": {
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])]);
      const t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(Math.sqrt(2 / Math.PI))])]);
      return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [t, g.scalar(1)])]);
    }
  }
}

/** act(x @ W1 + b1) @ W2 + b2 of block `p`: [B,L,C] -> [B,L,F] -> [B,L,C]. */
function feedForward(ctx: GraphContext, x: string, p: string): string {
  return linear(ctx, activation(ctx, linear(ctx, x, `${p}.fc1`)), `${p}.fc2`);
}

/** The post-norm block l: x1 = LN1(x + attention(x)), x2 = LN2(x1 + ffn(x1)); the output x2. */
function postNormBlock(ctx: GraphContext, x: string, bias: string, l: number): string {
  const { g } = ctx;
  const p = `layers.${l}`;
  const x1 = layerNorm(ctx, g.op("Add", [x, selfAttention(ctx, x, bias, `${p}.attn`)]), `${p}.ln1`);
  return layerNorm(ctx, g.op("Add", [x1, feedForward(ctx, x1, `${p}.ffn`)]), `${p}.ln2`);
}

/** The pre-norm block l: res1 = x + attention(LN1(x)), res2 = res1 + ffn(LN2(res1)); the output res2. */
function preNormBlock(ctx: GraphContext, x: string, bias: string, l: number): string {
  const { g } = ctx;
  const p = `layers.${l}`;
  const res1 = g.op("Add", [x, selfAttention(ctx, layerNorm(ctx, x, `${p}.ln1`), bias, `${p}.attn`)]);
  return g.op("Add", [res1, feedForward(ctx, layerNorm(ctx, res1, `${p}.ln2`), `${p}.ffn`)]);
}

/** Every block in the model's `norm` placement, and the final LayerNorm of pre-norm: [B,L,C] -> [B,L,C]. */
function encoderBlocks(ctx: GraphContext, x: string, bias: string): string {
  const { cfg } = ctx;
  switch (cfg.norm) {
    case "post":
      for (let l = 0; l < cfg.numLayers; l++) x = postNormBlock(ctx, x, bias, l);
      return x;
    case "pre":
      for (let l = 0; l < cfg.numLayers; l++) x = preNormBlock(ctx, x, bias, l);
      return layerNorm(ctx, x, "final.ln");
  }
}

/**
 * The MLM head: hn = LN(act(x @ Wd + bd)), then hn @ Wo + bo with Wo [C,V] its own tensor, or with a
 * tied output hn @ embed^T + bo (embed [V,C], transposed in the graph so that the file holds it once):
 * [B,L,C] -> [B,L,V].
 */
function mlmHead(ctx: GraphContext, x: string): string {
  const { g, cfg } = ctx;
  const hidden = layerNorm(ctx, activation(ctx, linear(ctx, x, "head.dense")), "head.ln");
  if (!cfg.tieOutput) return linear(ctx, hidden, "head.out");
  const embedT = g.op("Transpose", [ctx.w("embed.weight")], { perm: [1, 0] }, ["perm"]); // [C,V]
  return g.op("Add", [g.op("MatMul", [hidden, embedT]), ctx.w("head.out.bias")]);
}

/**
 * The classifier head on the encoder's output x [B,L,C]: pooled = x[:, 0] ([CLS]) or the mean over
 * the real tokens (attention_mask 1), then the tutorial's hn = LN(act(pooled @ Wd + bd)),
 * logits = hn @ Wo + bo, or BERT's logits = tanh(pooled @ Wp + bp) @ Wo + bo (its dropout is
 * training's only): [B,N] (model/classifier-heads.ts).
 */
function classifierHead(ctx: GraphContext, x: string, mask: string, pooling: Pooling, head: ClassifierHead): string {
  const { g } = ctx;
  let pooled: string;
  if (pooling === "cls") {
    pooled = g.op("Gather", [x, g.ints([0], [])], { axis: 1 }, ["axis"]); // [B,C]
  } else {
    const real = g.op("Unsqueeze", [g.op("Cast", [mask], { to: 1 }, ["to"]), g.ints([2])]); // [B,L,1]
    const sum = g.op("ReduceSum", [g.op("Mul", [x, real]), g.ints([1])], { keepdims: 0 }, ["keepdims"]); // [B,C]
    const count = g.op("ReduceSum", [real, g.ints([1])], { keepdims: 0 }, ["keepdims"]); // [B,1]
    pooled = g.op("Div", [sum, count]);
  }
  const hidden =
    head === "bert"
      ? g.op("Tanh", [linear(ctx, pooled, "classifier.pooler")])
      : layerNorm(ctx, activation(ctx, linear(ctx, pooled, "classifier.dense")), "classifier.ln");
  return linear(ctx, hidden, "classifier.out");
}

/** What the graph puts on top of the encoder: the masked-LM head, or a classifier's with N labels. */
export type OnnxTask =
  { task: "fill-mask" } | { task: "text-classification"; numLabels: number; pooling: Pooling; head: ClassifierHead };

/**
 * The weights by name, each checked against the model's layout (every tensor present, with its
 * shape, and none other); throws a one-line error naming the tensor.
 */
function weightsByName(cfg: ModelConfig, tensors: readonly NamedTensor[], task: OnnxTask): Map<string, NamedTensor> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const { specs } = task.task === "fill-mask" ? paramLayout(cfg) : classifierLayout(cfg, task.numLabels, task.head);
  for (const s of specs) {
    const t = byName.get(s.name);
    if (t === undefined) throw new Error(`ONNX export: the checkpoint has no tensor "${s.name}"`);
    if (t.shape.join(",") !== s.shape.join(","))
      throw new Error(
        `ONNX export: tensor "${s.name}" has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`,
      );
  }
  const extra = tensors.filter((t) => !specs.some((s) => s.name === t.name));
  if (extra.length > 0) throw new Error(`ONNX export: unexpected tensor "${extra[0].name}" for this architecture`);
  return byName;
}

/**
 * The graph of the model of shape `cfg` with `tensors` (mlm-ts names, [in, out] linear weights):
 * outputs `logits` (the task's) and `last_hidden_state` (the encoder's output).
 */
export function modelGraph(
  cfg: ModelConfig,
  tensors: readonly NamedTensor[],
  task: OnnxTask = { task: "fill-mask" },
): ReturnType<GraphBuilder["graph"]> {
  checkExportable(cfg, "ONNX export");
  const weights = weightsByName(cfg, tensors, task);
  const g = new GraphBuilder("mlm-ts");
  const used = new Set<string>();
  const ctx: GraphContext = {
    g,
    cfg,
    w(name) {
      const t = weights.get(name);
      if (t === undefined) throw new Error(`ONNX export: no tensor "${name}"`);
      if (!used.has(name)) g.weight(name, t.shape, t.data);
      used.add(name);
      return name;
    },
  };
  const ids = g.input("input_ids", "int64", ["batch", "sequence"]);
  const mask = g.input("attention_mask", "int64", ["batch", "sequence"]);
  const x = encoderBlocks(ctx, embeddings(ctx, ids), paddingBias(ctx, mask));
  if (task.task === "fill-mask") {
    g.output(mlmHead(ctx, x), "logits", "float", ["batch", "sequence", cfg.vocabSize]);
  } else {
    g.output(classifierHead(ctx, x, mask, task.pooling, task.head), "logits", "float", ["batch", task.numLabels]);
  }
  g.output(x, "last_hidden_state", "float", ["batch", "sequence", cfg.dModel]);
  return g.graph();
}

/** The masked LM's graph (`modelGraph` with the fill-mask head). */
export function mlmGraph(cfg: ModelConfig, tensors: readonly NamedTensor[]): ReturnType<GraphBuilder["graph"]> {
  return modelGraph(cfg, tensors);
}

/** The whole ONNX model (opset 17) with these weights: the masked LM's, or the task's. */
export function mlmOnnxModel(
  cfg: ModelConfig,
  tensors: readonly NamedTensor[],
  version: string,
  task: OnnxTask = { task: "fill-mask" },
): OnnxModel {
  return {
    irVersion: ONNX_IR_VERSION,
    producerName: "mlm-ts",
    producerVersion: version,
    opset: ONNX_OPSET,
    graph: modelGraph(cfg, tensors, task),
  };
}
