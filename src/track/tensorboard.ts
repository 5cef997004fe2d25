/**
 * TensorBoard event files, written and read without TensorFlow.
 *
 * A file is a sequence of records, each framed as
 *   u64 length (little-endian) | u32 masked CRC32C of those 8 bytes | data | u32 masked CRC32C of data
 * where data is an `Event` protobuf: wall_time = 1 (double), step = 2 (int64), file_version = 3
 * (string, "brain.Event:2" in the first record), summary = 5 { value = 1 { tag = 1, simple_value = 2
 * (float) } }, encoded with the project's protobuf writer (util/protobuf.ts) by proto3's rules: a zero
 * wall_time or step is omitted.
 *
 * @example
 *   const tb = await SummaryWriter.open("runs/tiny/tb");
 *   tb.addScalar("train/loss", 2.31, 100);
 *   await tb.close();
 *   readScalars(tb.path); // [{ tag: "train/loss", step: 100, value: 2.309999942779541, wallTime: ... }]
 */
import CRC32C from "crc-32/crc32c.js";
import { platform, type AppendFile, type Storage } from "../platform/index.js";
import { ProtoMessage, ProtoReader } from "../util/protobuf.js";

/** CRC32C (Castagnoli) of `bytes`, unsigned. */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant, mod 2^32. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
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
  const m = new ProtoMessage();
  if (event.wallTime !== 0) m.double(1, event.wallTime);
  if (event.step !== 0) m.int(2, event.step);
  if (event.fileVersion !== undefined) m.string(3, event.fileVersion);
  if (event.scalars.length > 0) {
    const summary = new ProtoMessage();
    // simple_value is in a oneof, so it is written even when it is 0.
    for (const { tag, value } of event.scalars) summary.message(1, new ProtoMessage().string(1, tag).float(2, value));
    m.message(5, summary);
  }
  return m.finish();
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
