/**
 * Global-norm gradient clipping followed by Adam, as the tutorial's
 * `optax.chain(optax.clip_by_global_norm(1.0), optax.adam(3e-4))`:
 *
 *   norm  = sqrt(sum of all squared gradients)
 *   scale = maxNorm / norm if norm > maxNorm else 1        (optax clip_by_global_norm)
 *   g     = grad * scale
 *   m     = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
 *   p    -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * Optional AdamW weight decay (`weightDecay` > 0, off by default as in the tutorial):
 * p -= lr * weightDecay * p on the entries where the decay mask is 1 (matrices; see params.ts).
 * The moments live in backend memory with the parameters' flat layout.
 */
import type { Backend } from "../engine/backend.js";
import { DEFAULT_CONFIG, type TrainConfig } from "../config/index.js";
import type { TrainableModel } from "./task.js";

/** Optimizer settings; defaults (the configuration's) are optax's Adam and the tutorial's clipping. */
export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value; Infinity or 0 disables clipping. Default: gradClip. */
  maxGradNorm?: number;
  /** AdamW decoupled weight decay factor (times lr). Default: weightDecay. */
  weightDecay?: number;
  /** Where weight decay applies (flat layout); required when weightDecay > 0. */
  decayMask?: Uint8Array | null;
}

/** What one update did. */
export interface UpdateInfo {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Factor applied to the gradients (1 when not clipped). */
  clipScale: number;
}

/** Everything needed to resume the optimizer (moments are views; copy them to keep them). */
export interface AdamState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** Thrown by `Adam.update`, before anything changed, when the gradients' norm is NaN or infinite. */
export class NonFiniteGradientError extends Error {
  constructor(readonly gradNorm: number) {
    super(`Adam.update: gradient norm is ${gradNorm} (NaN or infinite gradients)`);
    this.name = "NonFiniteGradientError";
  }
}

/**
 * Adam with global-norm clipping over one flat parameter buffer.
 *
 * @example
 *   const opt = new Adam(backend, model.params.length);
 *   model.forwardBackward(batch, { dropoutRng });
 *   const { gradNorm } = opt.update(model.params, model.grads, 3e-4);
 */
export class Adam {
  /** First moment, flat (backend memory). */
  readonly m: Float32Array;
  /** Second moment, flat (backend memory). */
  readonly v: Float32Array;
  /** Number of updates done so far. */
  step = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly maxGradNorm: number;
  readonly weightDecay: number;
  private readonly mask: Uint8Array | null;

  constructor(
    private readonly backend: Backend,
    readonly size: number,
    opts: AdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? DEFAULT_CONFIG.beta1;
    this.beta2 = opts.beta2 ?? DEFAULT_CONFIG.beta2;
    this.eps = opts.eps ?? DEFAULT_CONFIG.adamEps;
    this.maxGradNorm = opts.maxGradNorm ?? DEFAULT_CONFIG.gradClip;
    this.weightDecay = opts.weightDecay ?? DEFAULT_CONFIG.weightDecay;
    this.mask = opts.decayMask ?? null;
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1))
      throw new Error(`Adam: betas must be in [0, 1), got ${this.beta1}, ${this.beta2}`);
    if (!(this.eps >= 0)) throw new Error(`Adam: eps must be >= 0, got ${this.eps}`);
    if (!(this.maxGradNorm >= 0)) throw new Error(`Adam: maxGradNorm must be >= 0, got ${this.maxGradNorm}`);
    if (!(this.weightDecay >= 0)) throw new Error(`Adam: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.weightDecay > 0 && (this.mask === null || this.mask.length < size)) {
      throw new Error(`Adam: weightDecay needs a decayMask of ${size} entries`);
    }
    this.m = backend.alloc(size);
    this.v = backend.alloc(size);
  }

  /**
   * Clips the gradients' global norm, then applies one Adam step to `params` in place. A NaN or
   * infinite norm throws a NonFiniteGradientError and leaves parameters and moments untouched.
   */
  update(params: Float32Array, grads: Float32Array, learningRate: number): UpdateInfo {
    if (params.length < this.size || grads.length < this.size)
      throw new Error(
        `Adam.update: expected ${this.size} parameters and gradients, got ${params.length} and ${grads.length}`,
      );
    const gradNorm = Math.sqrt(this.backend.sumSquares(grads, this.size));
    if (!Number.isFinite(gradNorm)) throw new NonFiniteGradientError(gradNorm);
    const clip = this.maxGradNorm > 0 && Number.isFinite(this.maxGradNorm) && gradNorm > this.maxGradNorm;
    const clipScale = clip ? this.maxGradNorm / gradNorm : 1;
    this.step++;
    this.backend.adamUpdate(
      params,
      grads,
      this.m,
      this.v,
      this.size,
      {
        learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        step: this.step,
        gradScale: clipScale,
        weightDecay: this.weightDecay,
      },
      this.weightDecay > 0 ? this.mask : null,
    );
    return { gradNorm, clipScale };
  }

  /** The state to save in a checkpoint (views of the moments). */
  state(): AdamState {
    return { step: this.step, m: this.m, v: this.v };
  }

  /** Restores a saved state (copies the moments). */
  setState(state: { step: number; m: ArrayLike<number>; v: ArrayLike<number> }): void {
    if (!(Number.isInteger(state.step) && state.step >= 0))
      throw new Error(`Adam.setState: step must be a non-negative integer, got ${state.step}`);
    if (state.m.length !== this.size || state.v.length !== this.size) {
      throw new Error(
        `Adam.setState: expected moments of ${this.size} values, got ${state.m.length} and ${state.v.length}`,
      );
    }
    this.step = state.step;
    this.m.set(state.m);
    this.v.set(state.v);
  }
}

/** Adam over a model's parameters with a run's settings (betas, eps, clipping, weight decay on matrices). */
export function adamFor(
  backend: Backend,
  model: Pick<TrainableModel, "params" | "decayMask">,
  config: TrainConfig,
): Adam {
  return new Adam(backend, model.params.length, {
    beta1: config.beta1,
    beta2: config.beta2,
    eps: config.adamEps,
    maxGradNorm: config.gradClip,
    weightDecay: config.weightDecay,
    decayMask: config.weightDecay > 0 ? model.decayMask() : null,
  });
}
