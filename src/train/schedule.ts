/**
 * Learning-rate schedules: linear warmup from 0, then constant (the tutorial), linear decay to 0, or
 * cosine decay to 0 at `totalSteps`. The shapes are optax's (`warmup_cosine_decay_schedule` with end
 * value 0), but the rate of update t is read at t (1-based) rather than at t - 1, so that the first
 * update of a warmup does not get a rate of 0.
 *
 * @example
 *   const lr = learningRateAt(150, { peak: 3e-4, schedule: "cosine", warmupSteps: 100, totalSteps: 1230 });
 */
export interface ScheduleOptions {
  peak: number;
  schedule: "constant" | "linear" | "cosine";
  warmupSteps: number;
  /** Step at which the decay reaches 0 (the run's planned number of optimizer steps). */
  totalSteps: number;
}

/** Learning rate used for optimizer step `step` (1-based: the first update is step 1). */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (o.peak * step) / o.warmupSteps;
  if (o.schedule === "constant") return o.peak;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / decaySteps));
  if (o.schedule === "linear") return o.peak * (1 - progress);
  return o.peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
