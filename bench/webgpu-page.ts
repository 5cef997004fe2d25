/**
 * The page of the WebGPU bench: `window.benchWebGpu(steps, warmup, software)` times webgpu-steps.ts's
 * steps on this browser's WebGPU adapter, or says why there is none. A software adapter (SwiftShader)
 * counts as none unless `software` is true.
 */
import { createWebGpuBackend } from "../src/engine/webgpu/webgpu-backend.js";
import { timeTrainingSteps, type StepTiming } from "./webgpu-steps.js";

async function benchWebGpu(
  steps: number,
  warmup: number,
  software: boolean,
): Promise<StepTiming | { unavailable: string }> {
  let gpu;
  try {
    gpu = await createWebGpuBackend();
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  try {
    if (!software && /swiftshader/i.test(gpu.name))
      return { unavailable: `Chromium offers only a software adapter (${gpu.name})` };
    return await timeTrainingSteps(gpu, { steps, warmup });
  } finally {
    gpu.dispose();
  }
}

Object.assign(globalThis, { benchWebGpu, pageReady: true });
