/**
 * `--time-budget`: a run that must end, evaluated and checkpointed, by a wall-clock deadline. The run
 * times its first TIMING_STEPS steps (and its first evaluation, when there is one), then fixes its
 * number of steps with `planBudgetSteps`; the schedule's decay then ends on that step. Times are read
 * from an injectable clock (ms), so tests can drive it.
 *
 * @example
 *   planBudgetSteps({ remainingMs: 60_000, stepsDone: 50, msPerStep: 50, evalMs: 2_000, evalSteps: 500, maxSteps: 10_000 });
 *   // 1050: 1000 more steps (50 s) and two evaluations (4 s) fit, with room for the last checkpoint
 */

/** Steps timed before the number of steps is fixed. */
export const TIMING_STEPS = 50;

/** What `planBudgetSteps` needs to know. */
export interface BudgetPlanInput {
  /** Time left until the deadline, now. */
  remainingMs: number;
  /** Steps done so far (the plan counts from here). */
  stepsDone: number;
  /** Measured time of one training step (loading, logging and pauses included). */
  msPerStep: number;
  /** Time of one evaluation with its checkpoint writes. */
  evalMs: number;
  /** Steps between evaluations; the last step is evaluated too. */
  evalSteps: number;
  /** The most steps the run may take (its epochs and maxSteps). */
  maxSteps: number;
}

/** Share of the remaining time kept back for what the estimates miss (noise, the exit). */
const SAFETY_SHARE = 0.03;

/**
 * The largest total step count whose remaining steps, evaluations and final checkpoint (counted as
 * one more evaluation) fit in the remaining time less a safety margin; at least `stepsDone` (the run
 * then stops now, after its last evaluation), at most `maxSteps`.
 */
export function planBudgetSteps(i: BudgetPlanInput): number {
  const usable = i.remainingMs * (1 - SAFETY_SHARE) - i.evalMs; // the final checkpoint
  const cost = (total: number): number => {
    const evals =
      Math.floor(total / i.evalSteps) - Math.floor(i.stepsDone / i.evalSteps) + (total % i.evalSteps === 0 ? 0 : 1);
    return (total - i.stepsDone) * i.msPerStep + Math.max(0, evals) * i.evalMs;
  };
  // cost grows with total: start from the estimate without evaluations and step down until it fits
  let total = Math.min(i.maxSteps, i.stepsDone + Math.max(0, Math.floor(usable / Math.max(i.msPerStep, 1e-6))));
  while (total > i.stepsDone && cost(total) > usable) {
    const over = cost(total) - usable;
    total -= Math.max(1, Math.floor(over / Math.max(i.msPerStep, 1e-6)));
  }
  return Math.max(i.stepsDone, total);
}

/** A session's deadline: when the run must have ended, on `clock`; `fix` records the planned steps. */
export interface TimeBudget {
  /** Clock time (ms) by which the run must exit. */
  deadline: number;
  /** The clock the deadline is on (Date.now unless a test injects another). */
  clock: () => number;
  /** Records the fixed number of steps (the run's config.json), so that --resume keeps it. */
  fix(steps: number): Promise<void>;
}
