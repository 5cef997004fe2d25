import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from "../../src/run/safetensors.js";

const bytesOf = (chunks: Uint8Array[]): Buffer => Buffer.concat(chunks);

test("matches the reference writer's test vector byte for byte (huggingface/safetensors tensor.rs)", () => {
  // From the Rust crate's test_serialization_forced_alignement: one F32 tensor "attn0" of shape
  // [1, 1, 2, 3] holding 0..5; the 65-byte JSON header is padded with 7 spaces to 72.
  const expected = [
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
    51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
    95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0,
    0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ];
  const attn0 = { name: "attn0", shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
  const out = bytesOf(writeSafetensors([attn0]));
  assert.deepEqual([...out], expected);
  // And the empty file with metadata from test_empty: {"__metadata__":{"framework":"pt"}} + 5 spaces.
  const empty = bytesOf(writeSafetensors([], { framework: "pt" }));
  assert.equal(empty.readBigUInt64LE(0), 40n);
  assert.equal(empty.subarray(8).toString("utf8"), '{"__metadata__":{"framework":"pt"}}     ');
});

test("golden pair: sorted by name, metadata first, offsets contiguous, header padded to 8", () => {
  const out = bytesOf(
    writeSafetensors(
      [
        { name: "b", shape: [2], data: new Float32Array([1, -2]) },
        { name: "a", shape: [], data: new Float32Array([0.5]) },
      ],
      { format: "pt" },
    ),
  );
  // 138 bytes of JSON + 6 spaces = 144 = 0x90; then a = 0.5 (0000003f), b = [1, -2] (0000803f 000000c0).
  const json =
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  const expected = "9000000000000000" + Buffer.from(json + "      ").toString("hex") + "0000003f" + "0000803f000000c0";
  assert.equal(out.toString("hex"), expected);
  assert.equal((8 + 144) % 8, 0);

  const read = readSafetensors(out);
  assert.deepEqual([...read.keys()], ["a", "b"]);
  assert.deepEqual(read.get("a"), { shape: [], dtype: "F32", data: new Float32Array([0.5]) });
  assert.deepEqual(read.get("b"), { shape: [2], dtype: "F32", data: new Float32Array([1, -2]) });
  assert.deepEqual(readSafetensorsMetadata(out), { format: "pt" });
});

test("round trip of odd sizes, with the buffer at an unaligned offset", () => {
  const tensors = [
    { name: "layer.1.w", shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.sin(i) * 1e3) },
    { name: "layer.0.bias", shape: [7], data: Float32Array.from({ length: 7 }, (_, i) => -i / 3) },
    { name: "empty", shape: [0, 4], data: new Float32Array(0) },
    { name: "ünïcode", shape: [1], data: new Float32Array([Number.NaN]) },
  ];
  const file = bytesOf(writeSafetensors(tensors));
  const header = JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString("utf8"));
  assert.deepEqual(header["layer.0.bias"], { dtype: "F32", shape: [7], data_offsets: [0, 28] });
  assert.deepEqual(header["layer.1.w"], { dtype: "F32", shape: [3, 5], data_offsets: [28, 88] });
  const shifted = Buffer.concat([Buffer.from([0xff]), file]).subarray(1); // data not 4-byte aligned
  const read = readSafetensors(shifted);
  assert.deepEqual([...read.keys()], ["empty", "layer.0.bias", "layer.1.w", "ünïcode"]);
  for (const t of tensors) {
    assert.deepEqual(read.get(t.name)?.shape, t.shape);
    assert.deepEqual(read.get(t.name)?.data, t.data);
  }
  // The result is a copy: changing the file's bytes afterwards does not change it.
  shifted.fill(0);
  assert.equal(read.get("layer.0.bias")?.data[1], Math.fround(-1 / 3));
});

test("writer rejects bad input", () => {
  const t = (name: string, shape: number[], n: number) => ({ name, shape, data: new Float32Array(n) });
  assert.throws(() => writeSafetensors([t("w", [2, 2], 3)]), /shape \[2, 2\] but 3 values/);
  assert.throws(() => writeSafetensors([t("w", [1], 1), t("w", [1], 1)]), /duplicate tensor name "w"/);
  assert.throws(() => writeSafetensors([t("__metadata__", [1], 1)]), /reserved/);
  assert.throws(() => writeSafetensors([t("w", [-1], 1)]), /invalid shape/);
});

test("reader validates header size, JSON, dtype, shape and offsets with clear errors", () => {
  const make = (header: object, dataBytes: number): Buffer => {
    const json = Buffer.from(JSON.stringify(header));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([size, json, Buffer.alloc(dataBytes)]);
  };
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: "F32", shape, data_offsets: offsets });
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(5), /5 bytes, expected at least 8/],
    [Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]), /above the limit/],
    [Buffer.from([100, 0, 0, 0, 0, 0, 0, 0, 123]), /runs past the end/],
    [Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{x}")]), /not valid JSON/],
    [make([], 0), /not a JSON object/],
    [make({ w: { dtype: "F16", shape: [1], data_offsets: [0, 2] } }, 2), /tensor "w" has dtype "F16"/],
    [make({ w: f32([2], [0, 4]) }, 4), /spans 4 bytes but shape \[2\] of F32 needs 8/],
    [make({ w: f32([1], [4, 8]) }, 8), /tensor "w" starts at byte 4 of the data, expected 0/],
    [make({ w: f32([1], [0, 4]), v: f32([1], [8, 12]) }, 12), /tensor "v" starts at byte 8/],
    [make({ w: f32([1], [0, 4]) }, 8), /cover 4 bytes of data but the file has 8/],
    [make({ w: f32([1], [0, 4]) }, 2), /cover 4 bytes of data but the file has 2/],
    [make({ w: f32([1.5], [0, 4]) }, 4), /shape \[1.5\], expected an array of non-negative integers/],
    [make({ w: f32([1], [4, 0]) }, 4), /data_offsets \[4,0\]/],
    [make({ __metadata__: { n: 1 } }, 0), /__metadata__.n is not a string/],
    // Bounds: a header length with its high bits set, entries that are not objects, sizes that overflow,
    // offsets past the end of the data.
    [Buffer.from([8, 0, 0, 0, 0, 0, 0, 1, 123, 125]), /header size 72057594037927944 is above the limit/],
    [make({ w: 7 }, 0), /tensor "w" has dtype undefined/],
    [make({ w: [1, 2] }, 0), /tensor "w" has dtype undefined/],
    [
      make({ w: f32([2 ** 40, 2 ** 40], [0, 4]) }, 4),
      /spans 4 bytes but shape \[1099511627776,1099511627776\] of F32 needs/,
    ],
    [make({ w: f32([1], [0, 2 ** 53]) }, 4), /data_offsets \[0,9007199254740992\]/],
    [make({ w: f32([2], [0, 8]) }, 4), /cover 8 bytes of data but the file has 4/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => readSafetensors(bytes, "m.safetensors"),
      (e: Error) => {
        assert.match(e.message, /^m\.safetensors: not a valid safetensors file: /);
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

// Cross-check with an independent reader (json + numpy) when python3 with numpy is installed here.
const hasNumpy = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

test("numpy reads our file back (skipped without python3 + numpy)", { skip: !hasNumpy && "numpy unavailable" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-st-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "x.safetensors");
  const w = Float32Array.from({ length: 12 }, (_, i) => i * 0.1 - 0.5);
  const b = new Float32Array([7]);
  writeFileSync(
    path,
    bytesOf(
      writeSafetensors([
        { name: "w", shape: [3, 4], data: w },
        { name: "b", shape: [1], data: b },
      ]),
    ),
  );
  const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
assert (8 + n) % 8 == 0
header = json.loads(raw[8:8 + n].decode("utf-8"))
out = {}
for name, info in header.items():
    b, e = info["data_offsets"]
    arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(info["shape"])
    out[name] = {"shape": list(arr.shape), "values": [float(v) for v in arr.ravel()]}
print(json.dumps(out))
`;
  const result = spawnSync("python3", ["-c", script, path], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout);
  assert.deepEqual(parsed.w, { shape: [3, 4], values: [...w] });
  assert.deepEqual(parsed.b, { shape: [1], values: [7] });
});
