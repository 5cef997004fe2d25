// A step that goes non-finite on the WebGPU backend, in Chromium on SwiftShader: with a learning rate
// of 1e9 step 1's update sends the weights to ~1e9 and step 2's gradients to NaN (the GPU's gradient
// norm is NaN, so its clipping and Adam kernels update nothing). The run stops naming the step and the
// tensor, as the WebAssembly backend's run of the same configuration does (read back from the GPU to
// find it), records "failed" with that message, and keeps its last good checkpoint (step 0's, finite).
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { TrainConfig } from "../../src/config/index.js";
import { NonFiniteError, train } from "../../src/train/trainer.js";
import { tempDir } from "../temp-dir.js";
import { tinyConfig, writeTinyCorpus } from "../train/fixtures.js";
import type { NonFiniteOutcome } from "./webgpu-nonfinite-page.js";
import { openWebGpuPage } from "./webgpu-page.js";

/** The tiny run of test/train/fixtures.ts at a learning rate that overflows float32 at step 2. */
const SETTINGS: Partial<TrainConfig> = { learningRate: 1e9, evalSteps: 10, threads: 1, keepLast: 3 };

test("a non-finite step on WebGPU stops the run naming the step and the tensor; the last good checkpoint is kept", async () => {
  const dir = tempDir("mlm-webgpu-nonfinite-");
  // The same run on WebAssembly in Node: the step and the tensor it names.
  const cpu = await train(tinyConfig(dir, { ...SETTINGS, backend: "wasm", outDir: join(dir, "wasm") })).then(
    () => assert.fail("the WebAssembly run did not stop"),
    (e: unknown) => e as NonFiniteError,
  );
  assert.ok(cpu instanceof NonFiniteError, String(cpu));

  const text = readFileSync(writeTinyCorpus(dir), "utf8");
  // The page's run: the fixture's settings without its Node paths (corpus, cache), in the page's storage.
  const { data: _data, cacheDir: _cache, ...settings } = tinyConfig(dir, { ...SETTINGS, outDir: "runs/nonfinite" });
  const tab = await openWebGpuPage("test/browser/webgpu-nonfinite-page.ts", { folder: tempDir("mlm-webgpu-page-") });
  try {
    const run = await tab.page.evaluate(
      ([t, s]) =>
        (
          globalThis as unknown as { trainToNonFinite(t: string, s: object): Promise<NonFiniteOutcome> }
        ).trainToNonFinite(t, s),
      [text, settings] as const,
    );
    assert.match(run.adapter, /swiftshader/i);
    assert.ok(run.error !== null, "the run stopped on an error");
    assert.equal(run.error.name, "NonFiniteError", run.error.message);
    assert.equal(run.error.step, cpu.step);
    assert.equal(run.error.tensor, cpu.tensor);
    assert.match(
      run.error.message,
      new RegExp(
        /^step 2: the gradient of head\.dense\.weight holds NaN \(index \d+ of \[32 x 32\]\), /.source +
          /the first tensor backpropagation computes that went bad \(the loss was .*\); /.source +
          /the run stopped and its latest checkpoint, runs\/nonfinite\/last-00000000, is kept$/.source,
      ),
    );
    assert.equal(run.status?.state, "failed");
    assert.equal(run.status?.message, run.error.message);
    assert.deepEqual(run.checkpoints, ["runs/nonfinite/last-00000000"]);
    assert.equal(run.finite, true, "the kept checkpoint's weights are finite");
  } finally {
    await tab.close();
  }
});
