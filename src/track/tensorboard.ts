/**
 * TensorBoard event files, written and read without TensorFlow.
 *
 * A file is a sequence of records, each framed as
 *   u64 length (little-endian) | u32 masked CRC32C of those 8 bytes | data | u32 masked CRC32C of data
 * where data is an `Event` protobuf: wall_time = 1 (double), step = 2 (int64), file_version = 3
 * (string, "brain.Event:2" in the first record), summary = 5 { value = 1 { tag = 1, simple_value = 2
 * (float) } }. The protobuf is encoded by hand (proto3 rules: zero wall_time / step are omitted).
 *
 * @example
 *   const tb = await SummaryWriter.open("runs/tiny/tb");
 *   tb.addScalar("train/loss", 2.31, 100);
 *   await tb.close();
 *   readScalars(tb.path); // [{ tag: "train/loss", step: 100, value: 2.309999942779541, wallTime: ... }]
 */
import CRC32C from "crc-32/crc32c.js";
import { platform, type AppendFile, type Storage } from "../platform/index.js";

/** CRC32C (Castagnoli) of `bytes`, unsigned. */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant, mod 2^32. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Minimal protobuf encoder for the few wire types an Event needs. */
class ProtoWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  varint(value: bigint): this {
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.length++] = Number(v);
    return this;
  }

  /** Field key: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  key(field: number, wireType: 0 | 1 | 2 | 5): this {
    return this.varint(BigInt((field << 3) | wireType));
  }

  double(field: number, value: number): this {
    this.key(field, 1).reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5).reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(BigInt(data.length)).reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Fields of one Event that this module writes and reads. */
export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** The summary's simple_value entries (other summary kinds are skipped when reading). */
  scalars: { tag: string; value: number }[];
}

/** Encodes an Event protobuf (the record's data part). */
export function encodeEvent(event: TfEvent): Uint8Array {
  const w = new ProtoWriter();
  if (event.wallTime !== 0) w.double(1, event.wallTime);
  if (event.step !== 0) w.key(2, 0).varint(BigInt(event.step));
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.scalars.length > 0) {
    const summary = new ProtoWriter();
    for (const { tag, value } of event.scalars) {
      // simple_value is in a oneof, so it is written even when it is 0.
      summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/** Frames `data` as one TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

export interface SummaryWriterOptions {
  /** Wall time (unix seconds) of the file_version record and of the file name; now by default. */
  wallTime?: number;
}

/**
 * Writes scalars to `<logDir>/events.out.tfevents.<unix seconds>.<host>` (a numeric suffix is added
 * if that name is taken) through the platform's storage. Each record is handed to the storage as soon
 * as it is added (on Node: one write to the OS), so a crash of this process loses nothing already added.
 */
export class SummaryWriter {
  private file: AppendFile | undefined;

  private constructor(
    /** Path of the event file. */
    readonly path: string,
    file: AppendFile,
  ) {
    this.file = file;
  }

  /** Creates the event file in `logDir` (made as needed) and writes its file_version record. */
  static async open(
    logDir: string,
    options: SummaryWriterOptions = {},
    storage: Storage = platform().storage,
  ): Promise<SummaryWriter> {
    const wallTime = options.wallTime ?? Date.now() / 1000;
    const base = storage.path.join(
      logDir,
      `events.out.tfevents.${Math.floor(wallTime)}.${platform().processOwner().host}`,
    );
    let path = base;
    for (let i = 1; !(await storage.createExclusive(path, "")); i++) path = `${base}.${i}`;
    const writer = new SummaryWriter(path, await storage.openAppend(path));
    writer.writeEvent({ wallTime, step: 0, fileVersion: "brain.Event:2", scalars: [] });
    return writer;
  }

  /** Appends one Event record. */
  writeEvent(event: TfEvent): void {
    if (this.file === undefined) throw new Error(`SummaryWriter: ${this.path} is closed`);
    this.file.append(frameRecord(encodeEvent(event)));
  }

  /**
   * Logs `value` (stored as float32) under `tag` at `step`. `wallTime` is unix seconds, now by default.
   * @example writer.addScalar("valid/loss", 1.87, 2000);
   */
  addScalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    if (tag === "") throw new Error("SummaryWriter.addScalar: tag must not be empty");
    if (!Number.isSafeInteger(step)) throw new Error(`SummaryWriter.addScalar: step must be an integer, got ${step}`);
    this.writeEvent({ wallTime, step, scalars: [{ tag, value }] });
  }

  /** Closes the file; later adds throw. Closing twice is harmless. */
  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }
}

/** Alias with TensorFlow's name for the same thing. */
export { SummaryWriter as EventWriter };

/** Minimal protobuf reader: walks fields, skipping the ones not asked for. */
class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly where: () => string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new Error(`${this.where()}: truncated protobuf field`);
  }

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

  bytesField(): Uint8Array {
    const n = Number(this.varint());
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.double();
    else if (wireType === 2) this.bytesField();
    else if (wireType === 5) this.float();
    else throw new Error(`${this.where()}: unsupported protobuf wire type ${wireType}`);
  }
}

/** Decodes an Event protobuf (wall_time, step, file_version and simple_value scalars). */
export function decodeEvent(data: Uint8Array, where: () => string = () => "event"): TfEvent {
  const event: TfEvent = { wallTime: 0, step: 0, scalars: [] };
  const r = new ProtoReader(data, where);
  while (!r.done()) {
    const { field, wireType } = r.key();
    if (field === 1 && wireType === 1) event.wallTime = r.double();
    else if (field === 2 && wireType === 0) event.step = Number(BigInt.asIntN(64, r.varint()));
    else if (field === 3 && wireType === 2) event.fileVersion = new TextDecoder().decode(r.bytesField());
    else if (field === 5 && wireType === 2) {
      const summary = new ProtoReader(r.bytesField(), where);
      while (!summary.done()) {
        const s = summary.key();
        if (s.field !== 1 || s.wireType !== 2) {
          summary.skip(s.wireType);
          continue;
        }
        const value = new ProtoReader(summary.bytesField(), where);
        let tag = "";
        let simple: number | undefined;
        while (!value.done()) {
          const v = value.key();
          if (v.field === 1 && v.wireType === 2) tag = new TextDecoder().decode(value.bytesField());
          else if (v.field === 2 && v.wireType === 5) simple = value.float();
          else value.skip(v.wireType);
        }
        if (simple !== undefined) event.scalars.push({ tag, value: simple });
      }
    } else r.skip(wireType);
  }
  return event;
}

/**
 * Every Event of an event file's bytes, checking both CRCs of each record. Throws naming `path`, the
 * record index and its byte offset on a CRC mismatch, a truncated record, or a malformed Event.
 */
export function parseEvents(bytes: Uint8Array, path: string): TfEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: TfEvent[] = [];
  let offset = 0;
  for (let index = 0; offset < bytes.length; index++) {
    const at = `${path}: record ${index} at byte ${offset}`;
    if (offset + 12 > bytes.length) throw new Error(`${at}: truncated record header`);
    const lengthBytes = bytes.subarray(offset, offset + 8);
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(lengthBytes)) {
      throw new Error(`${at}: CRC mismatch in the length field`);
    }
    const length = Number(view.getBigUint64(offset, true));
    const dataStart = offset + 12;
    if (dataStart + length + 4 > bytes.length) {
      throw new Error(`${at}: truncated record (length ${length}, ${bytes.length - dataStart} bytes left)`);
    }
    const data = bytes.subarray(dataStart, dataStart + length);
    if (view.getUint32(dataStart + length, true) !== maskedCrc32c(data)) {
      throw new Error(`${at}: CRC mismatch in the data`);
    }
    events.push(decodeEvent(data, () => at));
    offset = dataStart + length + 4;
  }
  return events;
}

/** One logged scalar, flattened out of its Event. */
export interface ScalarPoint {
  tag: string;
  step: number;
  value: number;
  wallTime: number;
}

/** The simple_value scalars of `events`, flattened, in order. */
export function scalarsOf(events: readonly TfEvent[]): ScalarPoint[] {
  const points: ScalarPoint[] = [];
  for (const e of events) {
    for (const s of e.scalars) points.push({ tag: s.tag, step: e.step, value: s.value, wallTime: e.wallTime });
  }
  return points;
}
