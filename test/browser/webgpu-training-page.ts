/**
 * The page of webgpu-training.test.ts: `window.trainOnGpu(name, options)` runs webgpu-training.ts's
 * run of CONFIGS[name] on a fresh WebGPU backend and returns its losses, gradient norms and, when it
 * stopped early, its checkpoint.
 */
import { createWebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { CONFIGS, trainRun, type Checkpoint, type RunResult } from "./webgpu-training.js";

async function trainOnGpu(
  name: string,
  options: { until: number; stopAt?: number; resume?: Checkpoint },
): Promise<RunResult & { adapter: string }> {
  const gpu = await createWebGpuBackend();
  try {
    return { ...(await trainRun(gpu, CONFIGS[name], options)), adapter: gpu.name };
  } finally {
    gpu.dispose();
  }
}

Object.assign(globalThis, { trainOnGpu, pageReady: true });
