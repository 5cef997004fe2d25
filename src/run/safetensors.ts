/**
 * The safetensors file format (huggingface/safetensors), float32 tensors only.
 *
 * Layout:
 *   8 bytes   N, little-endian u64: size of the header
 *   N bytes   UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...],
 *             "data_offsets": [begin, end]}, ...}, padded with spaces so the data starts 8-byte aligned
 *   rest      the tensors' bytes (little-endian, row-major), back to back without gaps; offsets are
 *             relative to the start of this part and must cover it exactly.
 * The writer follows the reference Rust writer: tensors sorted by dtype alignment (all F32 here) then
 * by name (byte order), `__metadata__` first, compact JSON with keys dtype, shape, data_offsets.
 *
 * @example
 *   const chunks = writeSafetensors([{ name: "w", shape: [2, 3], data: new Float32Array(6) }]);
 *   await storage.writeAtomic("model.safetensors", chunks);
 *   const w = readSafetensors(await storage.readBytes("model.safetensors"), "model.safetensors").get("w");
 *   // w = { shape: [2, 3], dtype: "F32", data: Float32Array(6) }
 */
import type { NamedTensor } from "../model/index.js";

/** A tensor read back from a file. `data` is a fresh copy (it does not alias the file's bytes). */
export interface LoadedTensor {
  shape: number[];
  dtype: "F32";
  data: Float32Array;
}

/** The reference implementation rejects headers above 100 MB (a guard against hostile files). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isDimension(d: unknown): boolean {
  return typeof d === "number" && Number.isSafeInteger(d) && d >= 0;
}

const utf8 = new TextEncoder();

/** Byte order of UTF-8 encodings, as Rust compares `String`s. */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The little-endian bytes of a Float32Array, without copying on little-endian machines. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}

/**
 * Serialises tensors to safetensors. Returns the file as chunks (8-byte size, header, then each
 * tensor's bytes as a view of its Float32Array, so nothing large is copied); write them back to back,
 * e.g. with `storage.writeAtomic(path, chunks)`.
 */
export function writeSafetensors(tensors: readonly NamedTensor[], metadata?: Record<string, string>): Uint8Array[] {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === METADATA_KEY) throw new Error(`safetensors: tensor name "${METADATA_KEY}" is reserved`);
    if (seen.has(t.name)) throw new Error(`safetensors: duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    if (!t.shape.every(isDimension)) {
      throw new Error(`safetensors: tensor "${t.name}" has an invalid shape [${t.shape.join(", ")}]`);
    }
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors: tensor "${t.name}" has shape [${t.shape.join(", ")}] but ${t.data.length} values`);
    }
  }
  const ordered = [...tensors].sort((a, b) => compareUtf8(a.name, b.name));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`safetensors: metadata "${k}" must be a string`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const t of ordered) {
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = utf8.encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);

  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, BigInt(padded.length), true);
  return [size, padded, ...ordered.map((t) => littleEndianBytes(t.data))];
}

interface HeaderEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and validates the header; returns the entries sorted by offset, the metadata and data start. */
function parseHeader(
  bytes: Uint8Array,
  source: string,
): { entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  const fail = (what: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${what}`);
  };
  if (bytes.byteLength < 8) fail(`${bytes.byteLength} bytes, expected at least 8 (the header size)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header size ${n} is above the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerSize = Number(n);
  if (8 + headerSize > bytes.byteLength) {
    fail(`header size ${headerSize} runs past the end of the ${bytes.byteLength}-byte file`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerSize));
  } catch {
    return fail("header is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) fail("header is not a JSON object");

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`${METADATA_KEY} is not an object`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`${METADATA_KEY}.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
    if (dtype !== "F32") fail(`tensor "${name}" has dtype ${JSON.stringify(dtype)}, only "F32" is supported`);
    if (!Array.isArray(shape) || !shape.every(isDimension)) {
      fail(`tensor "${name}" has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDimension) || offsets[0] > offsets[1]) {
      fail(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with begin <= end`);
    }
    const [begin, end] = offsets as number[];
    const expected = elementCount(shape as number[]) * 4;
    if (end - begin !== expected) {
      fail(`tensor "${name}" spans ${end - begin} bytes but shape ${JSON.stringify(shape)} of F32 needs ${expected}`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data part exactly: no gaps, no overlaps, nothing after the last one.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + headerSize;
  const dataLength = bytes.byteLength - dataStart;
  let cursor = 0;
  for (const e of entries) {
    if (e.begin !== cursor) fail(`tensor "${e.name}" starts at byte ${e.begin} of the data, expected ${cursor}`);
    cursor = e.end;
  }
  if (cursor !== dataLength) fail(`tensors cover ${cursor} bytes of data but the file has ${dataLength}`);
  return { entries, metadata, dataStart };
}

/**
 * Reads a safetensors file's bytes into a Map from name to tensor, in file order. Throws a one-line
 * error naming `source` (the file path, for messages) and the problem for any malformed header.
 */
export function readSafetensors(bytes: Uint8Array, source = "safetensors buffer"): Map<string, LoadedTensor> {
  const { entries, dataStart } = parseHeader(bytes, source);
  const out = new Map<string, LoadedTensor>();
  for (const e of entries) {
    // A copy (a Node Buffer's slice would alias), which is also 4-byte aligned for the Float32Array view.
    const raw = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    } else {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = new Float32Array(raw.byteLength / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
    }
    out.set(e.name, { shape: e.shape, dtype: "F32", data });
  }
  return out;
}

/** Reads only the `__metadata__` map of a safetensors file (empty when absent); validates the header. */
export function readSafetensorsMetadata(bytes: Uint8Array, source = "safetensors buffer"): Record<string, string> {
  return parseHeader(bytes, source).metadata;
}
