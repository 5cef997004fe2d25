// `mlm export` and `mlm import` on the command line: help, usage errors (exit 2) and one-line errors
// naming the folder (exit 1); what they export and import is the other interop tests' subject.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { tempDir } from "../temp-dir.js";
import { captureOutput } from "./capture.js";

test("mlm export and mlm import: help, usage errors and missing folders", async () => {
  const dir = tempDir("mlm-interop-cli-");
  const help = await captureOutput(() => main(["export", "--help"]));
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: mlm export RUN_DIR --format onnx\|pytorch\|hf --out DIR/);
  assert.match((await captureOutput(() => main(["import", "--help"]))).stdout, /Usage: mlm import DIR --out RUN_DIR/);

  const noFormat = await captureOutput(() => main(["export", dir, "--out", join(dir, "x")]));
  assert.equal(noFormat.code, 2);
  assert.match(noFormat.stderr, /--format/);
  const badFormat = await captureOutput(() => main(["export", dir, "--format", "tflite", "--out", join(dir, "x")]));
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /onnx.*pytorch/);

  const missing = join(dir, "missing");
  for (const argv of [
    ["export", missing, "--format", "onnx", "--out", join(dir, "x")],
    ["import", missing, "--out", join(dir, "y")],
  ]) {
    const r = await captureOutput(() => main(argv));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^mlm ${argv[0]}: .*missing.*\\n$`));
  }
});
