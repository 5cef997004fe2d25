// The one line reader, through both of its front-ends: the same lines, numbers and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
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
