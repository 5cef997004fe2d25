import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { sha256Hex, textFingerprint } from "../../src/util/sha256.js";

test("sha256Hex gives node:crypto's digest at every padding boundary and on multi-byte text", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
    assert.equal(sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"), `${n} bytes`);
  }
  assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const text = "fiancée 猫 🐈";
  assert.deepEqual(textFingerprint("/a/t.json", text), {
    path: "/a/t.json",
    size: Buffer.byteLength(text),
    sha256: createHash("sha256").update(text, "utf8").digest("hex"),
  });
});
