// Every kernel of the WebGPU backend against the TypeScript reference, in Chromium on SwiftShader:
// the kernels that are exact float32 steps (dropout masks, ReLU, scaleAdd, row copies, fill and set)
// give the reference's bits; those that sum or call exp agree to float32 rounding (the reference
// sums in float64; the GPU sums in another order and has its own exp). Bad arguments are refused with
// the CPU backends' messages.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { tempDir } from "../temp-dir.js";
import { openWebGpuPage } from "./webgpu-page.js";
import type { CaseResult } from "./webgpu-kernels-page.js";
import { BAD_CALLS } from "../engine/bad-calls.js";

/** Largest difference allowed, relative to the largest magnitude of the reference's output. */
const TOLERANCE: Record<string, number> = {
  matmul: 1e-5,
  layerNorm: 1e-5,
  attention: 1e-5,
  crossEntropy: 1e-5,
  adam: 1e-5,
  "global-norm": 1e-5,
  sumSquares: 1e-5,
  gelu: 1e-5,
};
/** Cases whose every bit must equal the reference's. */
const EXACT = ["scaleAdd", "dropout", "reluBackward", "embeddingForward", "fill and set"];

test("every WebGPU kernel agrees with the TypeScript reference on SwiftShader", async () => {
  const tab = await openWebGpuPage("test/browser/webgpu-kernels-page.ts", { folder: tempDir("mlm-webgpu-page-") });
  try {
    const { adapter, results, refusals } = await tab.page.evaluate<{
      adapter: string;
      results: CaseResult[];
      refusals: string[];
    }>("window.checkKernels()");
    assert.match(adapter, /swiftshader/i);
    // the argument checks the CPU backends share (test/engine/checks.test.ts), with their messages
    assert.deepEqual(
      refusals,
      BAD_CALLS.map((bad) => bad.message),
    );
    assert.equal(results.length, 19);
    for (const r of results) {
      assert.ok(r.size > 0, r.name);
      if (EXACT.some((prefix) => r.name.startsWith(prefix))) {
        assert.equal(r.differing, 0, `${r.name}: ${r.differing} of ${r.size} values differ (error ${r.error})`);
        continue;
      }
      const family = Object.keys(TOLERANCE).find((prefix) => r.name.startsWith(prefix));
      assert.ok(family !== undefined, `${r.name}: no tolerance`);
      assert.ok(r.error <= TOLERANCE[family], `${r.name}: error ${r.error} > ${TOLERANCE[family]}`);
    }
  } finally {
    await tab.close();
  }
});
