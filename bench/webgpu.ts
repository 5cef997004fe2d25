/**
 * Training speed on WebGPU beside WebAssembly, in the same bench run: webgpu-steps.ts's steps (the
 * tutorial's model, batches of the default size) in Node on the WebAssembly backend, then in headless
 * Chromium on the machine's GPU. Where Chromium offers no hardware adapter (no GPU, or a software one
 * only), the WebGPU figure is absent and `webgpuUnavailable` says why; a software adapter
 * (SwiftShader) is not timed, its speed says nothing of a GPU's.
 *
 * @example
 *   const r = await runWebGpuBench({ steps: 10, threads: 2 });
 *   console.log(r.wasmMsPerStep, r.webgpuMsPerStep ?? r.webgpuUnavailable);
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend } from "../src/engine/create.js";
import { openWebGpuPage } from "../test/browser/webgpu-page.js";
import { timeTrainingSteps, type StepTiming } from "./webgpu-steps.js";

export interface WebGpuBenchResult {
  wasmMsPerStep: number;
  webgpuMsPerStep: number | null;
  /** The adapter the WebGPU steps ran on, or why they did not run. */
  webgpuAdapter: string | null;
  webgpuUnavailable: string | null;
  /** Largest relative difference between the two runs' losses (the same steps). */
  lossRelativeDifference: number | null;
}

export async function runWebGpuBench(options: {
  steps: number;
  threads: number;
  /** Time SwiftShader too (to check the bench itself on a machine without a GPU; not a GPU figure). */
  software?: boolean;
}): Promise<WebGpuBenchResult> {
  const { steps, threads } = options;
  const warmup = 2;
  const wasm = await createBackend("wasm", threads);
  let cpu: StepTiming;
  try {
    cpu = await timeTrainingSteps(wasm, { steps, warmup });
  } finally {
    wasm.dispose();
  }
  const folder = mkdtempSync(join(tmpdir(), "mlm-bench-webgpu-"));
  const result: WebGpuBenchResult = {
    wasmMsPerStep: cpu.msPerStepMedian,
    webgpuMsPerStep: null,
    webgpuAdapter: null,
    webgpuUnavailable: null,
    lossRelativeDifference: null,
  };
  try {
    const tab = await openWebGpuPage("bench/webgpu-page.ts", {
      folder,
      adapter: options.software === true ? "swiftshader" : "hardware",
    });
    try {
      const gpu = await tab.page.evaluate<StepTiming | { unavailable: string }>(
        `window.benchWebGpu(${steps}, ${warmup}, ${options.software === true})`,
      );
      if ("unavailable" in gpu) result.webgpuUnavailable = gpu.unavailable;
      else {
        result.webgpuMsPerStep = gpu.msPerStepMedian;
        result.webgpuAdapter = gpu.backend;
        result.lossRelativeDifference = Math.max(
          ...gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]) / Math.abs(cpu.losses[i])),
        );
      }
    } finally {
      await tab.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return result;
}
