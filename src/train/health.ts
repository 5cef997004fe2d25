/**
 * Watching a run's numbers: a non-finite loss or gradient stops the run with the step and the first
 * tensor that went bad, and a training loss far above where it started gives one warning.
 *
 * Nothing here runs per step except `observeLoss` (a few arithmetic operations): the loop already
 * has the loss and the gradient norm, and only when one of them is not finite does
 * `diagnoseNonFinite` search the tensors.
 *
 * @example
 *   const watch = { firstLoss: null, smoothedLoss: 0, warned: false };
 *   const warning = observeLoss(watch, step, loss); // a sentence the first time the loss runs away, else null
 *   if (!Number.isFinite(loss)) throw diagnoseNonFinite(step, loss, null, model.specs, model.params, model.grads);
 */
import type { ParamSpec } from "../model/index.js";

/** A run stopped by a non-finite number; the message names the step and the tensor. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    /** The step that went bad (1-based, as logged). */
    readonly step: number,
    /** The tensor found first, as "parameter NAME" or "gradient of NAME"; null when none holds a bad value. */
    readonly tensor: string | null,
  ) {
    super(message);
    this.name = "NonFiniteError";
  }
}

/** The first non-finite entry of `values` over `specs` in the given order; null when all are finite. */
function firstNonFinite(
  specs: readonly ParamSpec[],
  values: Float32Array,
  order: "layout" | "backward",
): { spec: ParamSpec; index: number; value: number } | null {
  for (let k = 0; k < specs.length; k++) {
    const spec = specs[order === "layout" ? k : specs.length - 1 - k];
    for (let i = 0; i < spec.size; i++) {
      const v = values[spec.offset + i];
      if (v - v !== 0) return { spec, index: i, value: v }; // v - v is NaN exactly for NaN and +-Infinity
    }
  }
  return null;
}

/** The entry of largest magnitude, to show how far the numbers have run. */
function largest(specs: readonly ParamSpec[], values: Float32Array): { spec: ParamSpec; value: number } {
  let best = { spec: specs[0], value: 0 };
  for (const spec of specs) {
    for (let i = 0; i < spec.size; i++) {
      const v = Math.abs(values[spec.offset + i]);
      if (v > best.value) best = { spec, value: v };
    }
  }
  return best;
}

const where = (spec: ParamSpec, index: number): string => `index ${index} of [${spec.shape.join(" x ")}]`;

/**
 * Why step `step` produced a non-finite loss or gradient norm: the first parameter holding NaN or an
 * infinity (in layout order), else the loss itself, else the first gradient that went bad in the
 * order backpropagation computes them (the output layer first). `gradNorm` is null when the loss
 * was checked before the update.
 */
export function diagnoseNonFinite(
  step: number,
  loss: number,
  gradNorm: number | null,
  specs: readonly ParamSpec[],
  params: Float32Array,
  grads: Float32Array,
): NonFiniteError {
  const param = firstNonFinite(specs, params, "layout");
  if (param !== null)
    return new NonFiniteError(
      `step ${step}: parameter ${param.spec.name} holds ${param.value} (${where(param.spec, param.index)}) before the step's update`,
      step,
      `parameter ${param.spec.name}`,
    );
  if (!Number.isFinite(loss)) {
    const big = largest(specs, params);
    return new NonFiniteError(
      `step ${step}: the training loss is ${loss} while every parameter is finite ` +
        `(the largest, |w| = ${big.value.toExponential(2)}, in ${big.spec.name}): the forward pass overflowed`,
      step,
      null,
    );
  }
  const grad = firstNonFinite(specs, grads, "backward");
  if (grad !== null)
    return new NonFiniteError(
      `step ${step}: the gradient of ${grad.spec.name} holds ${grad.value} (${where(grad.spec, grad.index)}), ` +
        `the first tensor backpropagation computes that went bad (the loss was ${loss.toPrecision(4)})`,
      step,
      `gradient of ${grad.spec.name}`,
    );
  const big = largest(specs, grads);
  return new NonFiniteError(
    `step ${step}: the gradient norm is ${gradNorm} although every gradient is finite: their squares overflow float32 ` +
      `(the largest, ${big.value.toExponential(2)}, in the gradient of ${big.spec.name})`,
    step,
    `gradient of ${big.spec.name}`,
  );
}

/** Throws a NonFiniteError naming the first parameter that is not finite (a checkpoint must never hold one). */
export function checkFiniteParams(step: number, specs: readonly ParamSpec[], params: Float32Array): void {
  const bad = firstNonFinite(specs, params, "layout");
  if (bad !== null)
    throw new NonFiniteError(
      `step ${step}: parameter ${bad.spec.name} holds ${bad.value} (${where(bad.spec, bad.index)}); no checkpoint is written with it`,
      step,
      `parameter ${bad.spec.name}`,
    );
}

/** The divergence watch's part of the training state, so that a resumed run warns as the uninterrupted one. */
export interface LossWatchState {
  /** The loss of the run's first step (null before it). */
  firstLoss: number | null;
  /** Exponential moving average of the step losses. */
  smoothedLoss: number;
  /** Whether the warning was given. */
  warned: boolean;
}

/** Weight of the newest step in the smoothed loss: an average over about the last 20 steps. */
const SMOOTHING = 0.05;
/** The smoothed loss may grow to this multiple of the first step's loss before the warning. */
export const DIVERGENCE_FACTOR = 1.5;

/**
 * Takes one step's loss into `watch`; returns a warning the first time the smoothed training loss
 * exceeds 1.5 x the loss of the run's first step (a learning rate far too high makes the loss grow
 * to thousands without ever becoming NaN), else null.
 */
export function observeLoss(watch: LossWatchState, step: number, loss: number): string | null {
  if (watch.firstLoss === null) {
    watch.firstLoss = loss;
    watch.smoothedLoss = loss;
    return null;
  }
  watch.smoothedLoss += SMOOTHING * (loss - watch.smoothedLoss);
  if (watch.warned || !(watch.smoothedLoss > DIVERGENCE_FACTOR * watch.firstLoss)) return null;
  watch.warned = true;
  return (
    `step ${step}: the smoothed training loss ${watch.smoothedLoss.toPrecision(4)} is above ${DIVERGENCE_FACTOR} x ` +
    `the first step's loss ${watch.firstLoss.toPrecision(4)}: the run is diverging ` +
    `(a lower --learning-rate, more --warmup-steps or a smaller --grad-clip may help)`
  );
}
