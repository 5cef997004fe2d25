/**
 * A minimal Protocol Buffers writer: the wire format (varints, length-delimited fields, fixed32)
 * that the ONNX messages need, and nothing else (no reader, no schema).
 *
 * Why our own and not protobufjs with onnx.proto: ONNX export needs six messages and write-only
 * encoding, about a hundred lines; protobufjs would be a new runtime dependency (mlm-ts installs
 * with two small ones) plus a copy of the ONNX schema to keep in step. The golden-bytes test compares
 * this writer's output with the bytes Python's `onnx` package serialises for the same model.
 *
 * Fields are written in the order they are called; ONNX's own serialiser writes them by increasing
 * field number, so the message encoders (onnx-proto.ts) call them in that order to give identical
 * bytes. ONNX's schema is proto2, so repeated scalars are written unpacked (one tag per value).
 *
 * @example
 *   const m = new ProtoMessage().int(1, 8).string(2, "mlm-ts");
 *   const bytes = m.finish(); // 08 08 12 06 6d 6c 6d 2d 74 73
 */

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const utf8 = new TextEncoder();

/** The varint bytes of a non-negative integer or of a negative int64 (two's complement, 10 bytes). */
function varint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** One protobuf message under construction: its encoded fields as a list of byte chunks. */
export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** Encoded size in bytes so far. */
  get byteLength(): number {
    return this.length;
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    if (!(Number.isInteger(field) && field >= 1)) throw new Error(`protobuf: field number ${field} is not valid`);
    this.push(varint(field * 8 + wire));
  }

  /** An int32, int64 or enum field (varint). */
  int(field: number, value: number | bigint): this {
    if (typeof value === "number" && !Number.isSafeInteger(value))
      throw new Error(`protobuf: field ${field} needs an integer, got ${value}`);
    this.tag(field, VARINT);
    this.push(varint(value));
    return this;
  }

  /** A repeated integer field, unpacked (proto2): one tag per value. */
  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  /** A float field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** A bytes field; the bytes are kept as given, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** An embedded message field. */
  message(field: number, value: ProtoMessage): this {
    this.tag(field, LENGTH_DELIMITED);
    this.push(varint(value.length));
    for (const c of value.chunks) this.push(c);
    return this;
  }

  /** The encoded message, as one chunk list (to write without copying) or joined (`finish`). */
  parts(): readonly Uint8Array[] {
    return this.chunks;
  }

  /** The encoded message in one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
