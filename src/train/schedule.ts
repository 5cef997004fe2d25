/**
 * Learning-rate schedules: linear warmup from 0, then constant (the tutorial), linear decay to 0, or
 * cosine decay to 0 at `totalSteps`. The shapes are optax's (`warmup_cosine_decay_schedule` with end
 * value 0), but the rate of update t is read at t (1-based) rather than at t - 1, so that the first
 * update of a warmup does not get a rate of 0. The settings keep their configuration names.
 *
 * @example
 *   const lr = learningRateAt(150, { learningRate: 3e-4, lrSchedule: "cosine", warmupSteps: 100 }, 1230);
 */
import type { TrainConfig } from "../config/index.js";

/** The schedule's settings: the peak `learningRate`, the shape, the warmup steps. */
export type ScheduleSettings = Pick<TrainConfig, "learningRate" | "lrSchedule" | "warmupSteps">;

/**
 * Learning rate used for optimizer step `step` (1-based: the first update is step 1) of a run of
 * `totalSteps` steps (where the decay reaches 0).
 */
export function learningRateAt(step: number, o: ScheduleSettings, totalSteps: number): number {
  const peak = o.learningRate;
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (peak * step) / o.warmupSteps;
  if (o.lrSchedule === "constant") return peak;
  const decaySteps = Math.max(1, totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / decaySteps));
  if (o.lrSchedule === "linear") return peak * (1 - progress);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
