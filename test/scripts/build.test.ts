// `npm run build` (scripts/build.js) in a scratch copy of the repository: it does nothing when dist/ was
// built from the same inputs, and a forced build swaps a complete dist/ in under a training run that
// goes on to save its checkpoint and stop as asked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startScript } from "../cli/child.js";
import { tempDir } from "../temp-dir.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const COPIED = ["src", "test", "bench", "web", "scripts", "data", "tsconfig.json", "package.json", "package-lock.json"];

/** A copy of the build's inputs and of the built dist/, with the checkout's node_modules linked. */
function scratchClone(): string {
  const clone = join(tempDir("mlm-build-"), "mlm-ts");
  for (const entry of [...COPIED, "dist", "bin"]) cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(clone, "node_modules"), "dir");
  return clone;
}

function build(clone: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [join(clone, "scripts", "build.js"), ...args], { cwd: clone }, (error, out, err) =>
      done({ code: error === null ? 0 : Number(error.code), out, err }),
    ),
  );
}

test("npm run build skips an up-to-date dist/, and a forced build replaces it under a training run", async () => {
  const clone = scratchClone();
  const skipped = await build(clone);
  assert.equal(skipped.code, 0, skipped.err);
  assert.match(skipped.err, /dist\/ is up to date/);

  const run = join(clone, "runs", "busy");
  const trainer = startScript(join(clone, "bin", "mlm.js"), [
    "train",
    ...["--out-dir", run, "--cache-dir", join(clone, ".cache"), "--max-steps", "1000000", "--log-steps", "1"],
    ...["--num-layers", "1", "--d-model", "16", "--num-heads", "2", "--d-ff", "32", "--vocab-size", "300"],
    ...["--eval-steps", "1000000", "--epochs", "1000000", "--threads", "1"],
  ]);
  await trainer.waitFor(/step 2\b/);
  const before = statSync(join(clone, "dist")).ino;
  const forced = await build(clone, "--force");
  assert.equal(forced.code, 0, forced.err);
  assert.notEqual(statSync(join(clone, "dist")).ino, before, "the build put a new dist/ in place");
  assert.ok(existsSync(join(clone, "dist", "src", "cli", "main.js")));
  assert.deepEqual(
    readdirSync(clone).filter((f) => f.startsWith("dist.")),
    [],
    "no build folder is left beside dist/",
  );

  // The trainer kept training through the swap, then stops on Ctrl-C with its checkpoint saved.
  const metrics = join(run, "metrics.jsonl");
  const logged = statSync(metrics).size;
  await new Promise((wait) => setTimeout(wait, 1000));
  assert.ok(statSync(metrics).size > logged, "the trainer still logs its losses after the swap");
  trainer.kill("SIGINT");
  const exit = await trainer.exited;
  assert.equal(exit.code, 130, trainer.stderr().slice(-800));
  const status = JSON.parse(readFileSync(join(run, "status.json"), "utf8")) as { state: string };
  assert.equal(status.state, "interrupted");
  assert.ok(
    readdirSync(run).some((f) => f.startsWith("last-")),
    "the latest checkpoint was written",
  );
});
