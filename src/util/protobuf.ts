/**
 * A minimal Protocol Buffers writer and reader: the wire format (varints, length-delimited fields,
 * fixed32, fixed64) that TensorBoard's Event (track/tensorboard.ts) and the ONNX messages
 * (interop/onnx-proto.ts) need, and nothing else (no schema). One writer serves both.
 *
 * Why our own and not protobufjs with the schemas: the two formats need a handful of messages, about
 * two hundred lines in all; protobufjs would be a new runtime dependency (mlm-ts installs with two
 * small ones) plus copies of onnx.proto and event.proto to keep in step. Golden-bytes tests compare the
 * output with the bytes Python's `onnx` package and TensorFlow's event writer produce.
 *
 * Fields are written in the order they are called; protobuf serialisers write them by increasing
 * field number, so the message encoders call them in that order to give identical bytes. What a
 * field's default value means (proto3 omits zeros, proto2 writes what is set) is the encoder's
 * choice: the writer writes what it is given. Repeated scalars are written unpacked (one tag per
 * value), as ONNX's proto2 schema has them.
 *
 * @example
 *   const m = new ProtoMessage().int(1, 8).string(2, "mlm-ts");
 *   const bytes = m.finish(); // 08 08 12 06 6d 6c 6d 2d 74 73
 *   const r = new ProtoReader(bytes, () => "example");
 *   r.key(); // { field: 1, wireType: 0 }, then r.varint() === 8n
 */

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
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

  /** A double field (fixed64, little-endian). */
  double(field: number, value: number): this {
    this.tag(field, FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
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

/** Reads a message's fields in order, skipping the ones not asked for; errors name `where()`. */
export class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly where: () => string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Whether every field was read. */
  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new Error(`${this.where()}: truncated protobuf field`);
  }

  /** A varint, as an unsigned 64-bit value (BigInt.asIntN(64, v) for a negative int64). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new Error(`${this.where()}: varint longer than 10 bytes`);
  }

  /** The next field's number and wire type. */
  key(): { field: number; wireType: number } {
    const k = Number(this.varint());
    return { field: k >>> 3, wireType: k & 7 };
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytesField(): Uint8Array {
    const n = Number(this.varint());
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips a field of `wireType` (groups, wire types 3 and 4, are refused). */
  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.double();
    else if (wireType === LENGTH_DELIMITED) this.bytesField();
    else if (wireType === FIXED32) this.float();
    else throw new Error(`${this.where()}: unsupported protobuf wire type ${wireType}`);
  }
}
