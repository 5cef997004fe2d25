/**
 * The masked language model as an ONNX graph (opset 17), for ONNX Runtime and transformers.js:
 *
 *   inputs   input_ids [batch, sequence] int64, attention_mask [batch, sequence] int64 (1 real, 0 pad)
 *   x0       = embed[input_ids] * sqrt(C) + PE[0 .. sequence-1]          [B,L,C]
 *   x        = block_l(x, mask) for l = 0 .. numLayers-1                [B,L,C]
 *   logits   = head(x)                                                  [B,L,V]  (the output)
 *
 * Padding keys get -1e9 added to their attention scores (mlm-ts's kernels score them -1e9), so the
 * logits at real tokens equal mlm-ts's; the logits at padding positions mean nothing. No dropout.
 *
 * Each architecture piece is one function below (token embedding, positions, attention, feed-forward,
 * block, head), named after what it computes, so that a new model option is a new small function and
 * a choice in `mlmGraph`. Weights keep mlm-ts's names and [in, out] layout, which MatMul takes as is.
 *
 * @example
 *   const cfg = modelConfigOf({ vocabSize: 50, dModel: 16, numLayers: 2, numHeads: 2, dFF: 32 });
 *   const tensors = tensorViews(paramLayout(cfg).specs, new Float32Array(paramLayout(cfg).total));
 *   const chunks = encodeModel(mlmOnnxModel(cfg, tensors, "0.1.0")); // model.onnx, written back to back
 */
import { paramLayout, positionalEncoding, type ModelConfig, type NamedTensor } from "../model/index.js";
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

/** embed[ids] * sqrt(C): [B,L] -> [B,L,C]. */
function scaledTokenEmbedding(ctx: GraphContext, ids: string): string {
  const { g } = ctx;
  return g.op("Mul", [
    g.op("Gather", [ctx.w("embed.weight"), ids], { axis: 0 }, ["axis"]),
    g.scalar(Math.sqrt(ctx.cfg.dModel)),
  ]);
}

/** x + PE[0 .. L-1], the fixed sinusoidal table [maxLen, C] sliced to the input's length. */
function sinusoidalPositions(ctx: GraphContext, x: string, ids: string): string {
  const { g, cfg } = ctx;
  const pe = g.weight("positions.sinusoidal", [cfg.maxLen, cfg.dModel], positionalEncoding(cfg.maxLen, cfg.dModel));
  const length = g.op("Shape", [ids], { start: 1, end: 2 }, ["start", "end"]); // [1]: L
  return g.op("Add", [x, g.op("Slice", [pe, g.ints([0]), length, g.ints([0])])]);
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

/** relu(x @ W1 + b1) @ W2 + b2 of block `p`: [B,L,C] -> [B,L,F] -> [B,L,C]. */
function reluFeedForward(ctx: GraphContext, x: string, p: string): string {
  return linear(ctx, ctx.g.op("Relu", [linear(ctx, x, `${p}.fc1`)]), `${p}.fc2`);
}

/** The post-norm block l: x1 = LN1(x + attention(x)), x2 = LN2(x1 + ffn(x1)). */
function postNormBlock(ctx: GraphContext, x: string, bias: string, l: number): string {
  const { g } = ctx;
  const p = `layers.${l}`;
  const x1 = layerNorm(ctx, g.op("Add", [x, selfAttention(ctx, x, bias, `${p}.attn`)]), `${p}.ln1`);
  return layerNorm(ctx, g.op("Add", [x1, reluFeedForward(ctx, x1, `${p}.ffn`)]), `${p}.ln2`);
}

/** The MLM head: LN(relu(x @ Wd + bd)) @ Wo + bo, [B,L,C] -> [B,L,V], Wo its own tensor. */
function mlmHead(ctx: GraphContext, x: string): string {
  const hidden = layerNorm(ctx, ctx.g.op("Relu", [linear(ctx, x, "head.dense")]), "head.ln");
  return linear(ctx, hidden, "head.out");
}

/**
 * The weights by name, each checked against the model's layout (every tensor present, with its
 * shape, and none other); throws a one-line error naming the tensor.
 */
function weightsByName(cfg: ModelConfig, tensors: readonly NamedTensor[]): Map<string, NamedTensor> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const { specs } = paramLayout(cfg);
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

/** The graph of the model of shape `cfg` with `tensors` (mlm-ts names, [in, out] linear weights). */
export function mlmGraph(cfg: ModelConfig, tensors: readonly NamedTensor[]): ReturnType<GraphBuilder["graph"]> {
  const weights = weightsByName(cfg, tensors);
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
  let x = sinusoidalPositions(ctx, scaledTokenEmbedding(ctx, ids), ids);
  const bias = paddingBias(ctx, mask);
  for (let l = 0; l < cfg.numLayers; l++) x = postNormBlock(ctx, x, bias, l);
  g.output(mlmHead(ctx, x), "logits", "float", ["batch", "sequence", cfg.vocabSize]);
  return g.graph();
}

/** The whole ONNX model (opset 17) of the MLM with these weights. */
export function mlmOnnxModel(cfg: ModelConfig, tensors: readonly NamedTensor[], version: string): OnnxModel {
  return {
    irVersion: ONNX_IR_VERSION,
    producerName: "mlm-ts",
    producerVersion: version,
    opset: ONNX_OPSET,
    graph: mlmGraph(cfg, tensors),
  };
}
