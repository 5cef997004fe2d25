// The loop keeps the best checkpoint by the task's own metric and direction (task.ts), so that a task
// other than the masked language model (a classifier, best by highest accuracy) plugs in without a
// loop of its own: here the MLM task with its best picked by the highest top-1 accuracy, run in two
// sessions (a resume in between), against the evaluations it recorded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { mlmTask, trainTask, type TaskKind } from "../../src/train/trainer.js";
import type { MlmData } from "../../src/train/mlm-task.js";
import type { TrainConfig } from "../../src/config/index.js";
import type { Batch } from "../../src/data/index.js";
import type { EvalMetrics } from "../../src/model/index.js";
import { tinyConfig } from "./fixtures.js";

/** The MLM task, its best checkpoint picked by the highest validation accuracy. */
const byAccuracy: TaskKind<TrainConfig, MlmData, Batch, EvalMetrics> = {
  ...mlmTask,
  build: async (context) => ({ ...(await mlmTask.build(context)), best: { metric: "accuracy", better: "higher" } }),
};

/** The step of the first evaluation with the highest accuracy (a later tie is no improvement). */
function firstBest(evaluations: { step: number; metrics: EvalMetrics }[]): number {
  let best = evaluations[0];
  for (const e of evaluations) if (e.metrics.accuracy > best.metrics.accuracy) best = e;
  return best.step;
}

test("best/ holds the evaluation with the highest accuracy when the task says so, across a resume", async () => {
  const dir = tempDir("mlm-best-metric-");
  const config = tinyConfig(dir, { maxSteps: 60, evalSteps: 10, evalAtStart: true, dropout: 0 });
  const first = await trainTask(byAccuracy, config);
  assert.equal(first.evaluations.length, 7, "steps 0, 10, ..., 60");
  assert.equal(first.bestStep, firstBest(first.evaluations));
  // The second session compares with the best accuracy of the first, read back from train_state.json.
  const resumed = await trainTask(byAccuracy, { ...config, maxSteps: 120 }, { resume: config.outDir! });
  assert.equal(resumed.evaluations.length, 13);
  assert.equal(resumed.bestStep, firstBest(resumed.evaluations));
  const best = JSON.parse(readFileSync(join(config.outDir!, "best", "train_state.json"), "utf8"));
  assert.equal(best.step, resumed.bestStep, "best/ is the checkpoint of that evaluation");
  const atBest = resumed.evaluations.find((e) => e.step === resumed.bestStep)!;
  assert.equal(resumed.bestValidLoss, atBest.metrics.loss, "bestValidLoss is the loss of the best checkpoint");
  // The accuracies are not all equal, so the choice is a real one.
  const accuracies = new Set(resumed.evaluations.map((e) => e.metrics.accuracy));
  assert.ok(accuracies.size > 3, `accuracies ${[...accuracies].join(", ")}`);
});
