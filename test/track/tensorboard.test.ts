import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readEvents, readScalars } from "../../src/track/event-files.js";
import { SummaryWriter, crc32c, encodeEvent, frameRecord } from "../../src/track/tensorboard.js";

const dir = mkdtempSync(join(tmpdir(), "mlm-tb-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

test("CRC32C check value of '123456789' is 0xE3069283", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

// The expected records follow from the format alone (the module comment of src/track/tensorboard.ts),
// not from this code; their CRCs were checked with a separate bitwise CRC32C (polynomial 0x82F63B78).
// Header record: 18000000 00000000 (length 24) | a37f4b22 (masked CRC of the length) |
//   09 + 00000040fc54d941 (wall_time 1700000000.0, double) 1a 0d "brain.Event:2" | eced8f9d (masked CRC of data).
// Scalar record: length 26 | CRC | 09 + wall_time 1700000001.0 | 10 01 (step 1) |
//   2a 0d (summary) 0a 0b (value) 0a 04 "loss" 15 0000003f (simple_value 0.5, float) | CRC.
test("golden header and scalar records, byte for byte", () => {
  const header = frameRecord(encodeEvent({ wallTime: 1700000000, step: 0, fileVersion: "brain.Event:2", scalars: [] }));
  assert.equal(hex(header), "1800000000000000a37f4b220900000040fc54d9411a0d627261696e2e4576656e743a32eced8f9d");
  const scalar = frameRecord(encodeEvent({ wallTime: 1700000001, step: 1, scalars: [{ tag: "loss", value: 0.5 }] }));
  assert.equal(hex(scalar), "1a00000000000000129bd82d0900004040fc54d94110012a0d0a0b0a046c6f7373150000003f97d67404");
});

test("SummaryWriter file starts with the golden file_version record and reads back", async () => {
  const logDir = join(dir, "run");
  const writer = await SummaryWriter.open(logDir, { wallTime: 1700000000 });
  assert.equal(writer.path, join(logDir, `events.out.tfevents.1700000000.${hostname()}`));
  writer.addScalar("loss", 0.5, 1, 1700000001);
  writer.addScalar("train/loss", 2.31, 100, 1700000002.25);
  writer.addScalar("valid/loss", 0, 0, 1700000003); // step 0 and value 0 must survive
  writer.addScalar("lr", 3e-4, 2 ** 40, 1700000004); // a step beyond 32 bits
  // Records reach the file as they are added, before close (a crash loses nothing added).
  const beforeClose = readFileSync(writer.path);
  await writer.close();
  assert.deepEqual(readFileSync(writer.path), beforeClose);
  assert.equal(
    hex(beforeClose.subarray(0, 40)) + hex(beforeClose.subarray(40, 82)),
    "1800000000000000a37f4b220900000040fc54d9411a0d627261696e2e4576656e743a32eced8f9d" +
      "1a00000000000000129bd82d0900004040fc54d94110012a0d0a0b0a046c6f7373150000003f97d67404",
  );

  const events = readEvents(writer.path);
  assert.equal(events[0].fileVersion, "brain.Event:2");
  assert.deepEqual(readScalars(writer.path), [
    { tag: "loss", step: 1, value: 0.5, wallTime: 1700000001 },
    { tag: "train/loss", step: 100, value: Math.fround(2.31), wallTime: 1700000002.25 },
    { tag: "valid/loss", step: 0, value: 0, wallTime: 1700000003 },
    { tag: "lr", step: 2 ** 40, value: Math.fround(3e-4), wallTime: 1700000004 },
  ]);
  assert.throws(() => writer.addScalar("loss", 1, 2), /closed/);
});

test("a second writer in the same second gets its own file", async () => {
  const logDir = join(dir, "twice");
  const a = await SummaryWriter.open(logDir, { wallTime: 1700000000 });
  const b = await SummaryWriter.open(logDir, { wallTime: 1700000000 });
  await a.close();
  await b.close();
  assert.notEqual(a.path, b.path);
  assert.equal(readdirSync(logDir).length, 2);
});

test("a corrupted byte is reported with file, record index and offset", async () => {
  const writer = await SummaryWriter.open(join(dir, "corrupt"), { wallTime: 1700000000 });
  writer.addScalar("loss", 0.5, 1, 1700000001);
  writer.addScalar("loss", 0.25, 2, 1700000002);
  await writer.close();
  const good = readFileSync(writer.path);
  const second = 40; // the file_version record is 40 bytes, so record 1 starts here
  const third = second + 42;

  const flipped = Buffer.from(good);
  flipped[second + 12 + 5] ^= 0x01; // a data byte of record 1
  writeFileSync(writer.path, flipped);
  assert.throws(
    () => readEvents(writer.path),
    (e: Error) => {
      assert.ok(e.message.includes(writer.path), e.message);
      assert.match(e.message, new RegExp(`record 1 at byte ${second}: CRC mismatch in the data`));
      return true;
    },
  );

  const badLength = Buffer.from(good);
  badLength[third] ^= 0x01; // the length field of record 2
  writeFileSync(writer.path, badLength);
  assert.throws(() => readEvents(writer.path), new RegExp(`record 2 at byte ${third}: CRC mismatch in the length`));

  writeFileSync(writer.path, good.subarray(0, good.length - 3));
  assert.throws(() => readEvents(writer.path), new RegExp(`record 2 at byte ${third}: truncated record`));
});
