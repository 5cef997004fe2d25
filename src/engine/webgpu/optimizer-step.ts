/**
 * The end of a training step on the GPU: clipping and Adam recorded after the step's passes, then one
 * submission of everything, and the two values a step reads back. It is `Adam.update` of
 * src/train/optimizer.ts without the synchronous read of the gradient norm (the GPU clips with the
 * norm it computed), and the step's loss from the GPU's sums of the cross-entropies, since the
 * model's own loss sum reads the CPU copy, which the GPU does not refresh.
 */
import type { WebGpuBackend } from "./webgpu-backend.js";

/** What the step needs of the model: its flat parameters and gradients (arrays of the backend). */
export interface GpuStepModel {
  readonly params: Float32Array;
  readonly grads: Float32Array;
}

/** What the step needs of the optimizer (src/train/optimizer.ts's Adam has all of it). */
export interface GpuStepOptimizer {
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly size: number;
  step: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly maxGradNorm: number;
  readonly weightDecay: number;
}

/** A step's figures, as Adam.update and the model's passes give them on the CPU backends. */
export interface GpuStepResult {
  /** Mean cross-entropy over the step's labelled rows. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Thrown by `gpuOptimizerStep` for a NaN or infinite gradient norm, with the step's figures (nothing was updated). */
export class GpuNonFiniteStepError extends Error {
  constructor(
    readonly loss: number,
    readonly gradNorm: number,
  ) {
    super(`gpuOptimizerStep: gradient norm is ${gradNorm} (NaN or infinite gradients); nothing was updated`);
    this.name = "GpuNonFiniteStepError";
  }
}

/**
 * Records clipping and Adam on `model`'s gradients, submits the step and reads back its loss and
 * gradient norm. Call it after the step's `forwardBackward` passes (and `endAccumulation`), with
 * `count` their labelled rows. A NaN or infinite norm throws, the parameters and moments unchanged.
 *
 * @example
 *   model.forwardBackward(batch, { dropoutRng });
 *   const { loss, gradNorm } = await gpuOptimizerStep(gpu, model, adam, 3e-4, batch.numMasked, null);
 */
export async function gpuOptimizerStep(
  backend: WebGpuBackend,
  model: GpuStepModel,
  adam: GpuStepOptimizer,
  learningRate: number,
  count: number,
  decayMask: Uint8Array | null,
): Promise<GpuStepResult> {
  const step = adam.step + 1;
  const { beta1, beta2, eps, weightDecay, size } = adam;
  const hyper = { learningRate, beta1, beta2, eps, step, weightDecay };
  backend.clippedAdamUpdate(model.params, model.grads, adam.m, adam.v, size, hyper, adam.maxGradNorm, decayMask);
  const { lossSum, gradNorm } = await backend.flush();
  const loss = count > 0 ? lossSum / count : 0;
  if (gradNorm === null || !Number.isFinite(gradNorm)) throw new GpuNonFiniteStepError(loss, gradNorm ?? Number.NaN);
  adam.step = step;
  return { loss, gradNorm };
}
