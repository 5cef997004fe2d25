// The one line reader, through both of its front-ends: the same lines, numbers and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { forEachLineChunk, readLines, type LineReadOptions } from "../../src/util/lines.js";

const dir = mkdtempSync(join(tmpdir(), "mlm-lines-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function syncLines(path: string, options: LineReadOptions = {}): string[] {
  const out: string[] = [];
  forEachLineChunk(path, (lines) => out.push(...lines), options);
  return out;
}

async function asyncLines(path: string, options: LineReadOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const { lineNo, text } of readLines(path, options)) {
    assert.equal(lineNo, out.length + 1, "lines are numbered from 1 without gaps");
    out.push(text);
  }
  return out;
}

test("both front-ends give the same lines: BOM, CRLF, blank lines, no final newline, long lines", async () => {
  const long = "é".repeat(1 << 20); // 2 MiB: longer than either front-end's read chunk
  const cases: [string, string | Buffer, string[]][] = [
    ["empty.txt", "", []],
    ["one.txt", "one", ["one"]],
    ["bom.txt", "\ufeffa\r\nb\r\n", ["a", "b"]],
    ["blank.txt", "a\n\n\nb\n", ["a", "", "", "b"]],
    ["bom-only-start.txt", "a\n\ufeffb\n", ["a", "\ufeffb"]],
    ["long.txt", `x\n${long}\r\ny`, ["x", long, "y"]],
  ];
  for (const [name, content, expected] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const limits = { maxLineBytes: 4 << 20 }; // the long line is above the default limit
    assert.deepEqual(syncLines(path, limits), expected, `${name}, synchronous`);
    assert.deepEqual(await asyncLines(path, limits), expected, `${name}, async`);
  }
});

test("both front-ends name the file and line of invalid UTF-8, and a missing file or a directory", async () => {
  const bad = join(dir, "latin1.txt");
  writeFileSync(
    bad,
    Buffer.concat([Buffer.from("ok\n".repeat(70000)), Buffer.from([0x63, 0xe9, 0x0a]), Buffer.from("x\n")]),
  );
  const message = `${bad}:70001: invalid UTF-8 (expected a UTF-8 text file)`;
  assert.throws(() => syncLines(bad), { name: "CorpusError", message });
  await assert.rejects(asyncLines(bad), { name: "CorpusError", message });
  const missing = join(dir, "nope.txt");
  assert.throws(() => syncLines(missing), { message: `${missing}: file not found` });
  await assert.rejects(asyncLines(missing), { message: `${missing}: file not found` });
  const folder = join(dir, "folder");
  mkdirSync(folder);
  assert.throws(() => syncLines(folder), { message: `${folder}: is a directory, expected a text file` });
  await assert.rejects(asyncLines(folder), { message: `${folder}: is a directory, expected a text file` });
});

test("a line above the limit names file and line, in both front-ends, wherever it falls in the read chunks", async () => {
  const limit = 1000;
  const cases: [string, string, number][] = [
    ["first.txt", "x".repeat(1001), 1], // no newline at all
    ["middle.txt", `a\nb\n${"y".repeat(5000)}\nc\n`, 3], // inside one chunk
    ["wide.txt", `a\n${"é".repeat(501)}\n`, 2], // 1002 bytes in 501 characters
    ["last.txt", `a\n${"z".repeat(3 << 20)}`, 2], // spans several chunks, no final newline
  ];
  for (const [name, content, line] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const message = `${path}:${line}: line longer than 1000 bytes (the limit; raise it with --max-line-bytes if one sentence is really that long)`;
    assert.throws(() => syncLines(path, { maxLineBytes: limit }), { name: "CorpusError", message }, name);
    await assert.rejects(asyncLines(path, { maxLineBytes: limit }), { name: "CorpusError", message }, name);
  }
  // Exactly at the limit is fine; the default limit is 1 MiB.
  const exact = join(dir, "exact.txt");
  writeFileSync(exact, `${"é".repeat(500)}\n${"x".repeat(2 << 20)}\n`);
  assert.throws(() => syncLines(exact, { maxLineBytes: 1000 }), { message: new RegExp(`^${exact}:2: `) });
  assert.throws(() => syncLines(exact), { message: new RegExp(`^${exact}:2: line longer than 1048576 bytes`) });
});

test("NUL bytes (binary data, UTF-16 text) and inputs above maxBytes are refused, naming the file", async () => {
  const bom = join(dir, "utf16-bom.txt");
  writeFileSync(bom, Buffer.from("\ufeffhello\nworld\n", "utf16le"));
  const bomMessage = `${bom}:1: UTF-16 text (it starts with a UTF-16 byte-order mark); expected a UTF-8 text file`;
  assert.throws(() => syncLines(bom), { message: bomMessage });
  await assert.rejects(asyncLines(bom), { message: bomMessage });
  const utf16 = join(dir, "utf16.txt");
  writeFileSync(utf16, Buffer.from("hello\nworld\n", "utf16le"));
  const nulMessage = `${utf16}:1: NUL byte (binary data, or UTF-16 text? expected a UTF-8 text file)`;
  assert.throws(() => syncLines(utf16), { message: nulMessage });
  await assert.rejects(asyncLines(utf16), { message: nulMessage });
  const third = join(dir, "nul-third.txt");
  writeFileSync(third, "one\ntwo\nth\0ree\n");
  await assert.rejects(asyncLines(third), { message: new RegExp(`^${third}:3: NUL byte`) });

  const big = join(dir, "big.txt");
  writeFileSync(big, "a line\n".repeat(100));
  const message = `${big}: 700 bytes, above the limit of 699 bytes (raise it with --max-corpus-bytes)`;
  assert.throws(() => syncLines(big, { maxBytes: 699 }), { message });
  await assert.rejects(asyncLines(big, { maxBytes: 699 }), { message });
  assert.equal(syncLines(big, { maxBytes: 700 }).length, 100);
});

test(
  "a FIFO is read like a file; its size is counted as it streams",
  { skip: process.platform === "win32" },
  async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", `printf 'a\\nb\\nc\\n' > '${fifo}'`]);
    const written = new Promise((resolve) => writer.on("exit", resolve));
    assert.deepEqual(await asyncLines(fifo), ["a", "b", "c"]);
    await written;
    const endless = spawn("sh", ["-c", `yes line > '${fifo}'`]); // "line\n" forever
    await assert.rejects(asyncLines(fifo, { maxBytes: 1 << 20 }), {
      message: new RegExp(`^${fifo}: at least \\d+ bytes, above the limit of 1048576 bytes`),
    });
    endless.kill();
  },
);
