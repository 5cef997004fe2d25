// The protobuf writer and the ONNX message encoders against bytes Python's onnx package wrote: a small
// model with every kind of field an export uses (nodes with int, float and ints attributes, float and
// int64 initializers, a scalar, dynamic and fixed dimensions, the opset import) must encode to exactly
// the bytes of onnx 1.12's ModelProto.SerializeToString for the same model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeModel } from "../../src/interop/onnx-proto.js";
import { GraphBuilder } from "../../src/interop/onnx-graph.js";
import { ProtoMessage } from "../../src/util/protobuf.js";

/**
 * onnx 1.12, helper.make_model of the same graph (make_node, make_tensor(raw=True),
 * make_tensor_value_info, make_opsetid("", 17), producer "mlm-ts" 0.1.0), SerializeToString().hex().
 */
const PYTHON_BYTES =
  "080812066d6c6d2d74731a05302e312e303abd040a220a01780a017712086d61746d756c5f301a086d61746d756c5f3022064d61744d756c0a260a086d61746d756c5f300a07636f6e73745f3012056d756c5f311a056d756c5f3122034d756c0a85010a056d756c5f310a086c6e2e7363616c650a096c6e2e6f666673657412146c617965726e6f726d616c697a6174696f6e5f321a146c617965726e6f726d616c697a6174696f6e5f3222124c617965724e6f726d616c697a6174696f6e2a140a046178697318ffffffffffffffffff01a001022a110a07657073696c6f6e15acc52737a001010a4a0a146c617965726e6f726d616c697a6174696f6e5f32120b7472616e73706f73655f331a0b7472616e73706f73655f3322095472616e73706f73652a0d0a047065726d40014000a001070a350a0b7472616e73706f73655f330a07636f6e73745f311209726573686170655f341a09726573686170655f342207526573686170650a220a09726573686170655f341201791a086f75747075745f7922084964656e746974791206676f6c64656e2a1b0802080210014201774a100000803f000000c00000003f000040402a1110014207636f6e73745f304a040000803e2a180802100142086c6e2e7363616c654a080000803f0000803f2a190802100142096c6e2e6f66667365744a08000000000000003f2a1f080210074207636f6e73745f314a100000000000000000ffffffffffffffff5a180a017812130a110801120d0a07120562617463680a02080262180a017912130a110801120d0a07120562617463680a02080242040a001011";

const hex = (parts: readonly Uint8Array[]): string => Buffer.concat(parts.map((p) => Buffer.from(p))).toString("hex");

test("a small model encodes to the bytes onnx's own serialiser writes", () => {
  const g = new GraphBuilder("golden");
  const x = g.input("x", "float", ["batch", 2]);
  const w = g.weight("w", [2, 2], Float32Array.of(1, -2, 0.5, 3));
  const scaled = g.op("Mul", [g.op("MatMul", [x, w]), g.scalar(0.25)]);
  const scale = g.weight("ln.scale", [2], Float32Array.of(1, 1));
  const offset = g.weight("ln.offset", [2], Float32Array.of(0, 0.5));
  // attributes given out of order: they are written sorted by name, as make_node does
  const normed = g.op("LayerNormalization", [scaled, scale, offset], { epsilon: 1e-5, axis: -1 }, ["axis"]);
  const turned = g.op("Transpose", [normed], { perm: [1, 0] }, ["perm"]);
  g.output(g.op("Reshape", [turned, g.ints([0, -1])]), "y", "float", ["batch", 2]);
  const bytes = encodeModel({
    irVersion: 8,
    producerName: "mlm-ts",
    producerVersion: "0.1.0",
    opset: 17,
    graph: g.graph(),
  });
  assert.equal(hex(bytes), PYTHON_BYTES);
});

test("varints, negative int64s, floats and nested lengths follow the wire format", () => {
  assert.equal(hex([new ProtoMessage().int(1, 0).finish()]), "0800");
  assert.equal(hex([new ProtoMessage().int(1, 300).finish()]), "08ac02");
  assert.equal(hex([new ProtoMessage().int(1, -1).finish()]), "08ffffffffffffffffff01");
  assert.equal(hex([new ProtoMessage().int(20, 7).finish()]), "a00107"); // a two-byte tag
  assert.equal(hex([new ProtoMessage().float(2, 1).finish()]), "150000803f");
  const inner = new ProtoMessage().string(1, "a".repeat(200));
  assert.equal(hex([new ProtoMessage().message(3, inner).finish()]).slice(0, 10), "1acb010ac8"); // 203 and 200 as varints
  assert.throws(() => new ProtoMessage().int(1, 0.5), /field 1 needs an integer, got 0.5/);
});

test("a tensor whose data does not fill its dimensions is refused, naming it", () => {
  const g = new GraphBuilder("bad");
  g.weight("w", [2, 3], new Float32Array(5));
  assert.throws(
    () => encodeModel({ irVersion: 8, producerName: "t", producerVersion: "0", opset: 17, graph: g.graph() }),
    /ONNX tensor "w": dims \[2, 3\] need 6 values, got 5/,
  );
});
