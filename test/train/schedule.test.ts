import { test } from "node:test";
import assert from "node:assert/strict";
import { learningRateAt } from "../../src/train/schedule.js";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test("constant schedule is the tutorial's fixed learning rate", () => {
  for (const step of [1, 10, 1000])
    close(learningRateAt(step, { learningRate: 3e-4, lrSchedule: "constant", warmupSteps: 0 }, 100), 3e-4);
});

test("warmup rises linearly from 0 to the peak", () => {
  const o = { learningRate: 1, lrSchedule: "constant" as const, warmupSteps: 10 };
  close(learningRateAt(1, o, 100), 0.1);
  close(learningRateAt(5, o, 100), 0.5);
  close(learningRateAt(10, o, 100), 1);
  close(learningRateAt(11, o, 100), 1);
});

test("linear and cosine decay reach 0 at the last step and pass the midpoint at half the peak", () => {
  const lin = { learningRate: 2, lrSchedule: "linear" as const, warmupSteps: 10 };
  close(learningRateAt(60, lin, 110), 1);
  close(learningRateAt(110, lin, 110), 0);
  close(learningRateAt(500, lin, 110), 0);
  const cos = { ...lin, lrSchedule: "cosine" as const };
  close(learningRateAt(10, cos, 110), 2);
  close(learningRateAt(60, cos, 110), 1);
  close(learningRateAt(35, cos, 110), 1 + Math.cos(Math.PI / 4));
  close(learningRateAt(110, cos, 110), 0);
});
