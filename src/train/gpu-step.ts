/**
 * The loop's three differences on the WebGPU backend (src/engine/webgpu), kept here so that loop.ts
 * and checkpoints.ts read as they do for the CPU backends, with one branch each:
 *
 * - a step ends with `gpuOptimizerStep` (clipping and Adam recorded after the passes, one submission,
 *   the loss and the gradient norm read back) instead of `Adam.update`, which reads the norm
 *   synchronously, which WebGPU cannot do; the step's loss is the GPU's, the model's CPU-side sum is
 *   stale on this backend;
 * - a checkpoint first reads the parameters and Adam's moments back into their CPU copies;
 * - a non-finite step is diagnosed on CPU copies read back first.
 *
 * Only types come from the backend's module, so the CLI and Node never load WebGPU code.
 *
 * @example
 *   const gpu = webGpuOf(task.backend); // null on a CPU backend
 *   if (gpu !== null) {
 *     const { loss, gradNorm } = await gpuUpdate(gpu, step, count, 1e-3, task.model, adam, null);
 *   }
 */
import type { Backend } from "../engine/backend.js";
import { GpuNonFiniteStepError, gpuOptimizerStep } from "../engine/webgpu/optimizer-step.js";
import type { WebGpuBackend } from "../engine/webgpu/webgpu-backend.js";
import { diagnoseNonFinite } from "./health.js";
import type { Adam } from "./optimizer.js";
import type { TrainableModel } from "./task.js";

/** The backend as a WebGPU backend (its `kernels` say "webgpu"), or null for a CPU backend. */
export function webGpuOf(backend: Backend): WebGpuBackend | null {
  return backend.kernels === "webgpu" ? (backend as WebGpuBackend) : null;
}

/**
 * Submits the step recorded on `gpu` with clipping and Adam at `learningRate`; returns the step's
 * loss (over its `count` labelled rows) and the gradient norm before clipping. A NaN or infinite loss
 * or norm throws a NonFiniteError naming the step and the first bad tensor (from copies read back),
 * as the CPU path does (a NaN or infinite norm leaves the parameters unchanged).
 */
export async function gpuUpdate(
  gpu: WebGpuBackend,
  step: number,
  count: number,
  learningRate: number,
  model: TrainableModel,
  adam: Adam,
  decayMask: Uint8Array | null,
): Promise<{ loss: number; gradNorm: number }> {
  const { specs, params, grads } = model;
  let result: { loss: number; gradNorm: number };
  try {
    result = await gpuOptimizerStep(gpu, model, adam, learningRate, count, decayMask);
  } catch (err) {
    if (!(err instanceof GpuNonFiniteStepError)) throw err;
    await gpu.read([params, grads]);
    throw diagnoseNonFinite(step, err.loss, err.gradNorm, specs, params, grads);
  }
  if (!Number.isFinite(result.loss)) {
    // a non-finite loss with a finite norm: the update ran; the copies read back show where it went bad
    await gpu.read([params, grads]);
    throw diagnoseNonFinite(step, result.loss, null, specs, params, grads);
  }
  return result;
}
