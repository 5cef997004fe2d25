/**
 * The ONNX messages an exported model needs (onnx/onnx.proto, IR version 8 = opset 17), as plain
 * objects, and their protobuf encoding. Field numbers are the schema's; each encoder writes its fields
 * by increasing number, as ONNX's own serialiser does, so a model encodes to the same bytes.
 *
 * @example
 *   const bytes = encodeModel({
 *     irVersion: 8, producerName: "mlm-ts", producerVersion: "0.1.0", opset: 17,
 *     graph: { name: "g", nodes: [{ opType: "Relu", inputs: ["x"], outputs: ["y"] }], initializers: [],
 *              inputs: [{ name: "x", elemType: "float", dims: ["batch", 4] }],
 *              outputs: [{ name: "y", elemType: "float", dims: ["batch", 4] }] },
 *   });
 */
import { ProtoMessage } from "../util/protobuf.js";

/** TensorProto.DataType values used here. */
export const ONNX_DTYPES = { float: 1, int64: 7 } as const;
export type OnnxElemType = keyof typeof ONNX_DTYPES;

/** A constant tensor (an initializer or a Constant node's value); data is little-endian row-major. */
export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  elemType: OnnxElemType;
  data: Float32Array | BigInt64Array;
}

/** A node attribute: a float, an int, a list of ints, or a tensor. */
export type OnnxAttribute =
  | { name: string; kind: "float"; value: number }
  | { name: string; kind: "int"; value: number }
  | { name: string; kind: "ints"; value: readonly number[] }
  | { name: string; kind: "tensor"; value: OnnxTensor };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: readonly OnnxAttribute[];
}

/** A graph input or output: a tensor with fixed (number) or named dynamic (string) dimensions. */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxElemType;
  dims: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  graph: OnnxGraph;
}

/** AttributeProto.AttributeType values used here. */
const ATTRIBUTE_TYPES = { float: 1, int: 2, tensor: 4, ints: 7 } as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The tensor's bytes, little-endian (a view on little-endian machines, no copy). */
function rawBytes(t: OnnxTensor): Uint8Array {
  const { data } = t;
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i], true);
    else view.setBigInt64(8 * i, data[i], true);
  }
  return out;
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9. */
function tensorMessage(t: OnnxTensor): ProtoMessage {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    throw new Error(`ONNX tensor "${t.name}": dims [${t.dims.join(", ")}] need ${count} values, got ${t.data.length}`);
  if ((t.elemType === "float") !== t.data instanceof Float32Array)
    throw new Error(`ONNX tensor "${t.name}": data does not match its element type ${t.elemType}`);
  return new ProtoMessage().ints(1, t.dims).int(2, ONNX_DTYPES[t.elemType]).string(8, t.name).bytes(9, rawBytes(t));
}

/** AttributeProto: name = 1, f = 2, i = 3, t = 5, ints = 8, type = 20. */
function attributeMessage(a: OnnxAttribute): ProtoMessage {
  const m = new ProtoMessage().string(1, a.name);
  if (a.kind === "float") m.float(2, a.value);
  else if (a.kind === "int") m.int(3, a.value);
  else if (a.kind === "tensor") m.message(5, tensorMessage(a.value));
  else m.ints(8, a.value);
  return m.int(20, ATTRIBUTE_TYPES[a.kind]);
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
function nodeMessage(n: OnnxNode): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name !== undefined) m.string(3, n.name);
  m.string(4, n.opType);
  for (const a of n.attributes ?? []) m.message(5, attributeMessage(a));
  return m;
}

/** ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1, shape = 2 } } }. */
function valueInfoMessage(v: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2
    const dim = typeof d === "number" ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoMessage().int(1, ONNX_DTYPES[v.elemType]).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

/** GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12. */
function graphMessage(g: OnnxGraph): ProtoMessage {
  const m = new ProtoMessage();
  for (const n of g.nodes) m.message(1, nodeMessage(n));
  m.string(2, g.name);
  for (const t of g.initializers) m.message(5, tensorMessage(t));
  for (const i of g.inputs) m.message(11, valueInfoMessage(i));
  for (const o of g.outputs) m.message(12, valueInfoMessage(o));
  return m;
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
 * opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2). Returns the bytes as chunks
 * (the initializers' data are views of their arrays, not copies): write them back to back.
 */
export function encodeModel(model: OnnxModel): readonly Uint8Array[] {
  const opset = new ProtoMessage().string(1, "").int(2, model.opset);
  return new ProtoMessage()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion)
    .message(7, graphMessage(model.graph))
    .message(8, opset)
    .parts();
}
