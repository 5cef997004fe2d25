/**
 * `--time-budget`: a run that must end, evaluated and checkpointed, by a wall-clock deadline. The run
 * times its first TIMING_STEPS steps (and its first evaluation, when there is one), then fixes its
 * number of steps with `planBudgetSteps`; the schedule's decay then ends on that step. A shared
 * machine's speed drifts during a run (by a fifth from one minute to the next on a shared 2-core
 * machine), so the run plans again REPLANS times, evenly spaced, from what it has measured since (`StepPace`):
 * the deadline holds, and time a faster stretch frees is used. Times are read from an injectable clock
 * (ms), so tests can drive it.
 *
 * @example
 *   planBudgetSteps({ remainingMs: 60_000, stepsDone: 50, msPerStep: 50, evalMs: 2_000, evalSteps: 500, maxSteps: 10_000 });
 *   // 1050: 1000 more steps (50 s) and two evaluations (4 s) fit, with room for the last checkpoint
 */

/** Steps timed before the number of steps is fixed. */
export const TIMING_STEPS = 50;

/** Later plans, spread evenly over the time left after the first (each may move the schedule's end). */
export const REPLANS = 50;

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

/** A point of a run on the budget's clock: the step, the time, and the time left out until then. */
interface PaceMark {
  step: number;
  at: number;
  excludedMs: number;
}

/**
 * Time per training step on a budget's clock, with evaluations and checkpoints left out (the plan
 * counts those separately): the mean since timing began, or the mean since the previous reading when
 * that is slower, so that a machine slowing down shortens the plan at once.
 *
 * @example
 *   const pace = new StepPace(clock, 0);
 *   // ... 50 steps, one evaluation of 800 ms: pace.exclude(800) ...
 *   pace.msPerStep(50);  // (elapsed - 800) / 50
 */
export class StepPace {
  private excludedMs = 0;
  private from: PaceMark;
  private last: PaceMark;

  constructor(
    private readonly clock: () => number,
    step: number,
  ) {
    this.from = this.last = this.mark(step);
  }

  /** Times from `step` on, forgetting what came before (the first evaluation, the engine's start). */
  restart(step: number): void {
    this.from = this.last = this.mark(step);
  }

  /** Leaves `ms` (an evaluation, a checkpoint) out of the steps' time. */
  exclude(ms: number): void {
    this.excludedMs += ms;
  }

  /** Steps timed since the start (or the restart). */
  stepsTimed(step: number): number {
    return step - this.from.step;
  }

  /** The slower of the mean since the start and the mean since the previous reading, at `step`. */
  msPerStep(step: number): number {
    const now = this.mark(step);
    const mean = (a: PaceMark): number =>
      (now.at - a.at - (now.excludedMs - a.excludedMs)) / Math.max(1, now.step - a.step);
    const ms = now.step > this.last.step ? Math.max(mean(this.from), mean(this.last)) : mean(this.from);
    this.last = now;
    return ms;
  }

  private mark(step: number): PaceMark {
    return { step, at: this.clock(), excludedMs: this.excludedMs };
  }
}

/** A re-plan is logged when it moves the run's end by this fraction of the end last logged, or more. */
export const LOGGED_MOVE = 0.1;

/** What a plan reports: the run's new number of steps, and whether the trainer should log it. */
export interface BudgetPlan {
  totalSteps: number;
  /** The plan's line for the log, or null when it is not worth one. */
  message: string | null;
}

/**
 * The time budget's side of the loop: times the steps (leaving evaluations and checkpoints out), makes
 * the first plan after TIMING_STEPS steps, then plans again REPLANS times, evenly spaced over the time
 * left. The loop asks `afterStep` after every step and gets a new number of steps or null (no change).
 *
 * @example
 *   const planner = new BudgetPlanner(budget, { step: 0, evalSteps: 500, validBatches: 20, timeBudget: "10m" });
 *   const plan = await planner.afterStep(step, total); // null, or { totalSteps, message }
 */
export class BudgetPlanner {
  private readonly pace: StepPace;
  /** The longest evaluation so far (with its checkpoint writes), null before the first one. */
  private evalMs: number | null = null;
  private fixed = false;
  /** The end of the run that the log last said. */
  private loggedSteps = 0;
  /** The most steps a plan may give: the schedule's end before the first plan (its epochs, maxSteps). */
  private cap: number | null = null;
  private replanEveryMs: number | null = null;
  private nextPlanAt = Infinity;

  constructor(
    private readonly budget: TimeBudget,
    private readonly run: { step: number; evalSteps: number; validBatches: number; timeBudget: string | null },
  ) {
    this.pace = new StepPace(budget.clock, run.step);
  }

  /** Times the steps from `step` on (after the run's first evaluation, and the engine's start). */
  restart(step: number): void {
    this.pace.restart(step);
  }

  /** Runs an evaluation or a checkpoint, leaving its time out of the steps' pace. */
  async aside<T>(work: () => Promise<T>, isEvaluation: boolean): Promise<T> {
    const t0 = this.budget.clock();
    const result = await work();
    const ms = this.budget.clock() - t0;
    this.pace.exclude(ms);
    if (isEvaluation) this.evalMs = Math.max(this.evalMs ?? 0, ms);
    return result;
  }

  /**
   * After step `step` of `total`: the first plan once TIMING_STEPS steps are timed, later ones when
   * their time comes; null when no plan is due. A plan that moves the end records it (`budget.fix`).
   */
  async afterStep(step: number, total: number): Promise<BudgetPlan | null> {
    const { budget } = this;
    const first = !this.fixed && this.pace.stepsTimed(step) === TIMING_STEPS;
    if (!first && !(this.fixed && budget.clock() >= this.nextPlanAt)) return null;
    const now = budget.clock();
    this.replanEveryMs ??= (budget.deadline - now) / REPLANS;
    this.nextPlanAt = now + this.replanEveryMs;
    return this.plan(step, total, this.pace.msPerStep(step), first);
  }

  /**
   * Plans the run's number of steps from the measured step and evaluation times (an evaluation not yet
   * timed is estimated as forward passes over the validation batches, a third of a step each, doubled
   * for its checkpoint). The first plan is logged; a later one when it moves the end by LOGGED_MOVE or
   * more from the end last logged (a drifting machine re-plans dozens of times: the log keeps the moves
   * that matter).
   */
  private async plan(step: number, before: number, msPerStep: number, first: boolean): Promise<BudgetPlan> {
    const { budget, run } = this;
    this.fixed = true;
    this.cap ??= before;
    const steps = planBudgetSteps({
      remainingMs: budget.deadline - budget.clock(),
      stepsDone: step,
      msPerStep,
      evalMs: this.evalMs ?? (2 * msPerStep * run.validBatches) / 3,
      evalSteps: run.evalSteps,
      maxSteps: this.cap,
    });
    if (!first && steps === before) return { totalSteps: steps, message: null };
    await budget.fix(steps);
    let message: string | null = null;
    if (first)
      message =
        `time budget ${run.timeBudget}: ${msPerStep.toFixed(1)} ms per step over ${TIMING_STEPS} steps, ` +
        `so ${steps} steps in all (recorded in config.json as budgetSteps)`;
    else if (Math.abs(steps - this.loggedSteps) >= LOGGED_MOVE * this.loggedSteps)
      message = `time budget ${run.timeBudget}: ${msPerStep.toFixed(1)} ms per step at step ${step}, so ${steps} steps in all`;
    if (message !== null) this.loggedSteps = steps;
    return { totalSteps: steps, message };
  }
}
