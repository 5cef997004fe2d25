// --time-budget: the plan's arithmetic, and a run on an injected clock (virtual time advances by a
// fixed amount per optimizer step and per evaluation batch) that fixes its steps after 50, records
// them in config.json, ends its schedule, evaluation and checkpoint inside the budget, and keeps the
// fixed number when resumed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TsBackend } from "../../src/engine/ts-backend.js";
import type { AdamHyper } from "../../src/engine/backend.js";
import { resolveConfig } from "../../src/config.js";
import { train } from "../../src/train/trainer.js";
import { planBudgetSteps, TIMING_STEPS } from "../../src/train/time-budget.js";
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
  onUpdate: (updates: number) => void = () => {};
  override adamUpdate(
    ...args: [Float32Array, Float32Array, Float32Array, Float32Array, number, AdamHyper, Uint8Array | null]
  ): void {
    super.adamUpdate(...args);
    this.now += 40;
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

    // Uninterrupted, the same run ends inside its 12 s and uses most of them.
    const whole = new TimedBackend();
    const fresh = tinyConfig(dir, {
      timeBudget: "12s",
      maxSteps: 0,
      epochs: 1000,
      evalSteps: 100,
      dropout: 0,
      outDir: join(dir, "whole"),
    });
    const summary = await train(fresh, { backend: whole, clock: () => whole.now, startedAt: 0 });
    assert.equal(summary.steps, fixed, "the same plan from the same measurements");
    assert.ok(whole.now <= 12_000, `virtual wall time ${whole.now} ms, budget 12000`);
    assert.ok(whole.now >= 0.85 * 12_000, `virtual wall time ${whole.now} ms uses the budget`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
