// Training on the WebGPU backend, in Chromium on SwiftShader: 20 steps of a small model of each
// architecture (dropout, padded and unpadded batches, sparse and full head, two accumulated
// micro-batches per step, Adam with clipping) give every step's loss within 1e-4 relative of the same
// run on the WebAssembly backend in Node, and the gradient norm within 1e-3 (the norm is the more
// sensitive figure: at one step of these runs the TypeScript reference backend itself is 3e-4 away
// from the WebAssembly one, and the GPU as far); a run stopped after step 10,
// its parameters and Adam's moments read back from the GPU, resumes on a fresh backend to the
// uninterrupted run's losses bit for bit (the GPU kernels add in a fixed order).
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { createBackend } from "../../src/engine/create.js";
import { tempDir } from "../temp-dir.js";
import { openWebGpuPage } from "./webgpu-page.js";
import { CONFIGS, STEPS, trainRun, type Checkpoint, type RunResult } from "./webgpu-training.js";

/** What webgpu-training-page.ts puts on the page's globalThis. */
interface GpuPage {
  trainOnGpu(name: string, options: object): Promise<RunResult & { adapter: string }>;
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.ok(Math.abs(a - e) <= tolerance * Math.abs(e), `${what} at step ${i + 1}: ${a} against ${e}`);
  });
}

test("20 steps on WebGPU match the WebAssembly backend's, and a stopped run resumes exactly", async () => {
  const wasm = await createBackend("wasm", 1);
  const expected: Record<string, RunResult> = {};
  try {
    for (const name of Object.keys(CONFIGS)) expected[name] = await trainRun(wasm, CONFIGS[name], { until: STEPS });
  } finally {
    wasm.dispose();
  }
  const tab = await openWebGpuPage("test/browser/webgpu-training-page.ts", { folder: tempDir("mlm-webgpu-page-") });
  try {
    const onGpu = (name: string, options: object): Promise<RunResult & { adapter: string }> =>
      tab.page.evaluate(([n, o]) => (globalThis as unknown as GpuPage).trainOnGpu(n, o), [name, options] as const);
    for (const name of Object.keys(CONFIGS)) {
      const want = expected[name];
      // the run learns: a real check that losses are compared along a moving curve
      assert.ok(want.losses[STEPS - 1] < want.losses[0] - 0.05, `${name}: ${want.losses.join(", ")}`);
      const whole = await onGpu(name, { until: STEPS });
      assert.match(whole.adapter, /swiftshader/i);
      assertClose(whole.losses, want.losses, 1e-4, `${name}: loss`);
      assertClose(whole.gradNorms, want.gradNorms, 1e-3, `${name}: gradient norm`);

      const first = await onGpu(name, { until: STEPS, stopAt: 10 });
      assert.deepEqual(first.losses, whole.losses.slice(0, 10), `${name}: the first 10 steps`);
      const checkpoint = first.checkpoint as Checkpoint;
      assert.equal(checkpoint.step, 10);
      const rest = await onGpu(name, { until: STEPS, resume: checkpoint });
      assert.deepEqual(rest.losses, whole.losses.slice(10), `${name}: steps 11 to ${STEPS} after the resume`);
      assert.deepEqual(rest.gradNorms, whole.gradNorms.slice(10), `${name}: gradient norms after the resume`);
    }
  } finally {
    await tab.close();
  }
});
