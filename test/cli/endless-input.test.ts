// Endless input cannot exhaust memory: `mlm train` and `mlm tokenizer train` with a 256 MiB heap, fed
// one endless line from a pipe, a FIFO or /dev/zero, stop at the line limit with exit code 1, naming
// the file and the line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const NODE = `'${process.execPath}' --max-old-space-size=256 '${CLI}'`;
const LINE_1 = ":1: line longer than 1048576 bytes (the limit; raise it with --max-line-bytes";
const unix = { skip: process.platform === "win32" && "needs a POSIX shell, FIFOs and /dev/zero" };

/** Runs a shell command line in `cwd`; resolves with its exit code and stderr. */
async function shell(command: string, cwd: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn("sh", ["-c", command], { cwd, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { code, stderr };
}

test("an endless line piped into /dev/stdin: exit 1 naming /dev/stdin and line 1", unix, async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-endless-"));
  try {
    const endless = "yes | tr -d '\\n' |";
    const train = await shell(`${endless} ${NODE} train /dev/stdin --out-dir run --cache-dir c --no-progress`, dir);
    assert.equal(train.code, 1, train.stderr);
    assert.ok(train.stderr.includes(`mlm train: /dev/stdin${LINE_1}`), train.stderr);
    const tok = await shell(`${endless} ${NODE} tokenizer train /dev/stdin --out tok.json --no-progress`, dir);
    assert.equal(tok.code, 1, tok.stderr);
    assert.ok(tok.stderr.includes(`mlm tokenizer train: /dev/stdin${LINE_1}`), tok.stderr);
    assert.equal(existsSync(join(dir, "run")), false, "no run directory left behind");
    assert.equal(existsSync(join(dir, "tok.json")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "an endless line written into a FIFO: exit 1 naming the FIFO and line 1, the writer stopped early",
  unix,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "mlm-fifo-"));
    try {
      const fifo = join(dir, "corpus.fifo");
      execFileSync("mkfifo", [fifo]);
      const run = shell(`${NODE} train '${fifo}' --out-dir run --cache-dir c --no-progress`, dir);
      // This process writes "y" until the reader goes away (EPIPE).
      const out = createWriteStream(fifo);
      const chunk = Buffer.alloc(1 << 16, "y");
      let written = 0;
      await new Promise<void>((resolve) => {
        out.on("error", () => resolve());
        const pump = (): void => {
          while (written < 1 << 30) {
            written += chunk.length;
            if (!out.write(chunk)) return void out.once("drain", pump);
          }
          resolve();
        };
        pump();
      });
      out.destroy();
      const r = await run;
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(`mlm train: ${fifo}${LINE_1}`), r.stderr);
      assert.ok(written < 64 << 20, `the reader stopped early: ${written} bytes written`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("/dev/zero: exit 1 naming the file and line 1", unix, async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-zero-"));
  try {
    const train = await shell(`${NODE} train /dev/zero --out-dir run --no-progress`, dir);
    assert.equal(train.code, 1, train.stderr);
    assert.ok(train.stderr.includes(`mlm train: /dev/zero${LINE_1}`), train.stderr);
    const tok = await shell(`${NODE} tokenizer train /dev/zero --out t.json --no-progress`, dir);
    assert.equal(tok.code, 1, tok.stderr);
    assert.ok(tok.stderr.includes(`mlm tokenizer train: /dev/zero${LINE_1}`), tok.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
