// File fingerprints: size and SHA-256, the same for a copy; a cache keyed by path, size and mtime
// decides whether to read the file again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprintChange, fingerprintFile, fingerprintText } from "../../src/util/file-fingerprint.js";

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

test("size and SHA-256 of the bytes; a copy elsewhere matches; changes are described", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-fp-"));
  try {
    const a = join(dir, "a.txt");
    writeFileSync(a, "hello\n");
    const fp = await fingerprintFile(a);
    assert.deepEqual(fp, { path: a, size: 6, sha256: sha("hello\n") });
    const b = join(dir, "b.txt");
    copyFileSync(a, b);
    assert.equal(fingerprintChange(fp, await fingerprintFile(b)), null, "a copy has the same contents");
    assert.deepEqual(fingerprintText(join(dir, "t.json"), "é"), {
      path: join(dir, "t.json"),
      size: 2,
      sha256: sha("é"),
    });
    writeFileSync(b, "hello!\n");
    assert.equal(
      fingerprintChange(fp, await fingerprintFile(b)),
      `was 6 bytes (sha256 ${sha("hello\n").slice(0, 12)}...), now 7 bytes (sha256 ${sha("hello!\n").slice(0, 12)}...)`,
    );
    assert.match(fingerprintChange(fp, null)!, /now a pipe or device that cannot be compared$/);
    await assert.rejects(fingerprintFile(join(dir, "none.txt")), {
      message: `${join(dir, "none.txt")}: file not found`,
    });
    await assert.rejects(fingerprintFile(dir), { message: `${dir}: is a directory, expected a file` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the cache: unchanged size and mtime reuse the hash; another mtime or size hashes again; fresh files are not cached", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-fp-cache-"));
  try {
    const cacheDir = join(dir, "cache");
    const file = join(dir, "corpus.txt");
    const past = new Date(Date.now() - 3600_000);
    writeFileSync(file, "one\n");
    utimesSync(file, past, past);
    assert.equal((await fingerprintFile(file, { cacheDir }))?.sha256, sha("one\n"));
    const cached = JSON.parse(readFileSync(join(cacheDir, "fingerprints.json"), "utf8"));
    assert.equal(cached.files[file].sha256, sha("one\n"));

    // The same size and modification time: the cached hash is used (the file is not read; this is
    // how the cache shows itself: swapped bytes behind an unchanged mtime go unnoticed).
    writeFileSync(file, "two\n");
    utimesSync(file, past, past);
    assert.equal((await fingerprintFile(file, { cacheDir }))?.sha256, sha("one\n"));
    // Another modification time: read again.
    const later = new Date(past.getTime() + 1000);
    utimesSync(file, later, later);
    assert.equal((await fingerprintFile(file, { cacheDir }))?.sha256, sha("two\n"));
    // A file modified just now is hashed but not remembered (a second write could keep size and time).
    const fresh = join(dir, "fresh.txt");
    writeFileSync(fresh, "new\n");
    assert.equal((await fingerprintFile(fresh, { cacheDir }))?.sha256, sha("new\n"));
    assert.equal(JSON.parse(readFileSync(join(cacheDir, "fingerprints.json"), "utf8")).files[fresh], undefined);
    // A corrupt cache is no cache.
    writeFileSync(join(cacheDir, "fingerprints.json"), "{oops");
    assert.equal((await fingerprintFile(file, { cacheDir }))?.sha256, sha("two\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
