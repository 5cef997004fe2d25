// --time-budget: the plan's arithmetic, and runs on an injected clock (virtual time advances by a set
// amount per optimizer step and per evaluation batch) that fix their steps after 50, record them in
// config.json, end their schedule, evaluation and checkpoint inside the budget, keep the number when
// resumed, and plan again when the machine slows down or speeds up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TsBackend } from "../../src/engine/ts-backend.js";
import type { AdamHyper } from "../../src/engine/backend.js";
import { resolveConfig } from "../../src/config/index.js";
import { train } from "../../src/train/trainer.js";
import { LOGGED_MOVE, planBudgetSteps, StepPace, TIMING_STEPS } from "../../src/train/time-budget.js";
import { parseDuration } from "../../src/util/duration.js";
import { tinyConfig } from "./fixtures.js";

test("durations: units, sums and plain seconds; anything else is refused by the configuration", () => {
  assert.equal(parseDuration("10m"), 600);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("1.5h"), 5400);
  assert.equal(parseDuration("45s"), 45);
  assert.equal(parseDuration("600"), 600);
  for (const bad of ["", "soon", "10 minutes", "0m", "-5s", "m10"]) assert.equal(parseDuration(bad), null, bad);
  assert.throws(
    () => resolveConfig({ timeBudget: "ten minutes" }),
    /timeBudget must be a duration such as 90s, 10m or 1h30m, got "ten minutes"/,
  );
});

test("the plan fits the steps, the evaluations and the last checkpoint in the time left, capped by the schedule", () => {
  const base = { remainingMs: 60_000, stepsDone: 50, msPerStep: 50, evalMs: 2_000, evalSteps: 500, maxSteps: 10_000 };
  const steps = planBudgetSteps(base);
  const cost = (n: number): number => {
    const evals = Math.floor(n / 500) - Math.floor(50 / 500) + (n % 500 === 0 ? 0 : 1);
    return (n - 50) * 50 + evals * 2_000 + 2_000;
  };
  assert.ok(cost(steps) <= 60_000 * 0.97, `plan ${steps} costs ${cost(steps)}`);
  assert.ok(cost(steps + 25) > 60_000 * 0.97 - 2_000, `plan ${steps} leaves time unused`);
  assert.equal(planBudgetSteps({ ...base, maxSteps: 300 }), 300);
  assert.equal(planBudgetSteps({ ...base, remainingMs: 1_000 }), 50, "no time left: stop now");
  assert.ok(planBudgetSteps({ ...base, evalMs: 0 }) > steps, "evaluations cost steps");
});

/** A reference backend whose optimizer steps and evaluation batches advance a virtual clock. */
class TimedBackend extends TsBackend {
  now = 0;
  updates = 0;
  /** Virtual milliseconds per optimizer step. */
  stepMs = 40;
  onUpdate: (updates: number) => void = () => {};
  override adamUpdate(
    ...args: [Float32Array, Float32Array, Float32Array, Float32Array, number, AdamHyper, Uint8Array | null]
  ): void {
    super.adamUpdate(...args);
    this.now += this.stepMs;
    this.onUpdate(++this.updates);
  }
  override crossEntropy(
    losses: Float32Array,
    dlogits: Float32Array | null,
    ...rest: [Float32Array, Int32Array, number, number, number]
  ): void {
    super.crossEntropy(losses, dlogits, ...rest);
    if (dlogits === null) this.now += 25; // an evaluation batch
  }
}

test("a run on an injected clock fixes its steps after 50, ends inside its budget, and --resume keeps the number", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-budget-"));
  try {
    const config = tinyConfig(dir, { timeBudget: "12s", maxSteps: 0, epochs: 1000, evalSteps: 100, dropout: 0 });
    const be = new TimedBackend();
    const clock = (): number => be.now;
    // Stop part-way (after the plan) with the signal, then resume on a fresh clock.
    const stop = new AbortController();
    be.onUpdate = (n) => {
      if (n === 120) stop.abort(new Error("test stop"));
    };
    const first = await train(config, { backend: be, clock, startedAt: 0, signal: stop.signal });
    assert.equal(first.stoppedBy, "signal");
    const saved = JSON.parse(readFileSync(join(config.outDir!, "config.json"), "utf8"));
    const fixed: number = saved.budgetSteps;
    assert.ok(fixed > TIMING_STEPS + 70, `fixed ${fixed} steps`);
    assert.equal(saved.timeBudget, "12s");
    // The resumed run keeps budgetSteps (no new plan, whatever its clock says) and ends there.
    const again = new TimedBackend();
    const { formatVersion: _format, ...savedConfig } = saved;
    const resumed = await train(resolveConfig(savedConfig), {
      backend: again,
      resume: config.outDir!,
      clock: () => again.now,
      startedAt: 0,
    });
    assert.equal(resumed.stoppedBy, "schedule");
    assert.equal(resumed.steps, fixed);
    assert.equal(resumed.evaluations.at(-1)!.step, fixed, "the last step is evaluated");

    // Uninterrupted, the same run ends inside its 12 s and uses most of them; its later plans only
    // spend the safety margin that the shrinking time left no longer needs.
    const whole = await budgetRun(dir, "whole", () => {});
    assert.ok(whole.steps >= fixed && whole.steps <= 1.05 * fixed, `${whole.steps} steps, first plan ${fixed}`);
    assert.ok(whole.now >= 0.9 * 12_000, `virtual wall time ${whole.now} ms uses the budget`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A 12 s budget run on a virtual clock; `pace(be)` may change its step time as it goes. */
async function budgetRun(
  dir: string,
  name: string,
  pace: (be: TimedBackend) => void,
): Promise<{ steps: number; now: number; firstPlan: number; logged: number[] }> {
  const be = new TimedBackend();
  be.onUpdate = () => pace(be);
  const config = tinyConfig(dir, {
    timeBudget: "12s",
    maxSteps: 0,
    epochs: 1000,
    evalSteps: 100,
    dropout: 0,
    outDir: join(dir, name),
  });
  let firstPlan = 0;
  const logged: number[] = []; // the ends the log says, the first plan's first
  const log = (line: string): void => {
    const planned = /over 50 steps, so (\d+) steps in all/.exec(line);
    if (planned !== null) firstPlan = Number(planned[1]);
    const moved = /, so (\d+) steps in all/.exec(line);
    if (moved !== null) logged.push(Number(moved[1]));
  };
  const summary = await train(config, { backend: be, clock: () => be.now, startedAt: 0, log });
  assert.equal(summary.stoppedBy, "schedule");
  assert.equal(summary.evaluations.at(-1)!.step, summary.steps, "the last step is evaluated");
  assert.ok(be.now <= 12_000, `${name}: virtual wall time ${be.now} ms, budget 12000`);
  const recorded: number = JSON.parse(readFileSync(join(config.outDir!, "config.json"), "utf8")).budgetSteps;
  assert.equal(recorded, summary.steps, `${name}: config.json records the steps the run took`);
  assert.ok(firstPlan > TIMING_STEPS, `${name}: first plan ${firstPlan}`);
  for (let i = 1; i < logged.length; i++)
    assert.ok(
      Math.abs(logged[i] - logged[i - 1]) >= LOGGED_MOVE * logged[i - 1],
      `${name}: a logged re-plan moves the end by ${LOGGED_MOVE * 100}% or more: ${logged.join(" -> ")}`,
    );
  return { steps: summary.steps, now: be.now, firstPlan, logged };
}

test("a machine that slows down or speeds up after the first plan: the run plans again and still ends inside its budget", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-budget-drift-"));
  try {
    // Steps take 60 ms instead of 40 from step 150 on, or 25.
    const slower = await budgetRun(dir, "slower", (be) => {
      if (be.updates === 150) be.stepMs = 60;
    });
    assert.ok(slower.steps < 0.9 * slower.firstPlan, `slower: ${slower.steps} steps, first plan ${slower.firstPlan}`);
    assert.ok(slower.logged.length >= 2, `slower: the move is logged (${slower.logged.join(" -> ")})`);
    const faster = await budgetRun(dir, "faster", (be) => {
      if (be.updates === 150) be.stepMs = 25;
    });
    assert.ok(faster.steps > 1.1 * faster.firstPlan, `faster: ${faster.steps} steps, first plan ${faster.firstPlan}`);
    assert.ok(faster.now >= 0.9 * 12_000, `faster: virtual wall time ${faster.now} ms uses the budget`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the pace leaves evaluations out, and reads the slower of the whole mean and the latest stretch", () => {
  let now = 0;
  const pace = new StepPace(() => now, 10);
  now = 500; // 10 steps of 40 ms and an evaluation of 100 ms
  pace.exclude(100);
  assert.equal(pace.stepsTimed(20), 10);
  assert.equal(pace.msPerStep(20), 40);
  now += 10 * 80; // slower: the latest stretch wins
  assert.equal(pace.msPerStep(30), 80);
  now += 10 * 20; // faster: the whole mean (40 + 80 + 20) / 3 wins over the stretch's 20
  assert.equal(pace.msPerStep(40), (400 + 800 + 200) / 30);
  pace.restart(40);
  now += 5 * 30;
  assert.equal(pace.msPerStep(45), 30);
});
