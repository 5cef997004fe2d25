/**
 * Building an ONNX graph by calls, one per operator: each call adds a node and returns the name of its
 * output, so the model's graph (onnx-model.ts) reads like its forward pass. Initializers are named
 * after the model's tensors; intermediate values get short generated names.
 *
 * @example
 *   const g = new GraphBuilder("demo");
 *   const x = g.input("x", "float", ["batch", 4]);
 *   const w = g.weight("w", [4, 2], new Float32Array(8));
 *   g.output(g.op("Relu", [g.op("MatMul", [x, w])]), "y", "float", ["batch", 2]);
 *   const graph = g.graph();
 */
import type { OnnxAttribute, OnnxElemType, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from "./onnx-proto.js";

/** Attribute values by name: a number is a float or an int as the key's entry in `ints` says. */
export type Attributes = Record<string, number | readonly number[]>;

export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Declares a graph input; returns its name. */
  input(name: string, elemType: OnnxElemType, dims: readonly (number | string)[]): string {
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  /** A float initializer (a weight, a table); returns its name. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dims, elemType: "float", data });
    return name;
  }

  /** A constant int64 tensor (shapes, axes, indices), shared by every use of the same values. */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = `const_${this.constants.size}`;
    this.initializers.push({ name, dims, elemType: "int64", data: BigInt64Array.from(values, (v) => BigInt(v)) });
    this.constants.set(key, name);
    return name;
  }

  /** A constant float scalar, shared by every use of the same value. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = `const_${this.constants.size}`;
    this.initializers.push({ name, dims: [], elemType: "float", data: Float32Array.of(value) });
    this.constants.set(key, name);
    return name;
  }

  /**
   * Adds one node with a single output and returns the output's name. `intAttributes` lists the keys
   * of `attributes` that are integers (ONNX types every attribute; e.g. `axis` is an int, `epsilon` a
   * float). `name` names the node (its output keeps a generated name, an identifier): ONNX Runtime's
   * errors quote a failing node's name, so a node can say what went wrong through it.
   */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Attributes = {},
    intAttributes: readonly string[] = [],
    name?: string,
  ): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    // Sorted by name, as onnx.helper.make_node writes them, so that models encode to the same bytes.
    const entries = Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const attrs: OnnxAttribute[] = entries.map(([name, value]) =>
      typeof value !== "number"
        ? { name, kind: "ints", value }
        : intAttributes.includes(name)
          ? { name, kind: "int", value }
          : { name, kind: "float", value },
    );
    this.nodes.push({ opType, inputs, outputs: [output], name: name ?? output, attributes: attrs });
    return output;
  }

  /** Declares `value` as a graph output named `name` (an Identity node gives it that name). */
  output(value: string, name: string, elemType: OnnxElemType, dims: readonly (number | string)[]): void {
    this.nodes.push({ opType: "Identity", inputs: [value], outputs: [name], name: `output_${name}` });
    this.outputs.push({ name, elemType, dims });
  }

  /** The graph built so far. */
  graph(): OnnxGraph {
    return {
      name: this.name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }
}
