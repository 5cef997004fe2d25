// train_state.json is checked field by field before a run resumes from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTrainState } from "../../src/train/train-state.js";

const GOOD = {
  step: 300,
  loader: { epoch: 2, index: 7, rng: { s: [1, 2, 3, 4], spare: null } },
  dropoutRng: { s: [5, 6, 7, 8], spare: 0.25 },
  bestValidLoss: 3.5,
  bestStep: 200,
  evalsWithoutImprovement: 1,
  validHistory: [{ step: 0, loss: 7.1, perplexity: 1200, accuracy: 0, top5: 0.01, tokens: 87 }],
  tokensSeen: 12000,
  paddedTokensSeen: 15000,
  trainSeconds: 12.5,
  lossSinceLog: 0,
  stepsSinceLog: 0,
  kernels: "ts",
};

test("a complete state passes unchanged; NaN losses written as null are accepted", () => {
  assert.deepEqual(parseTrainState({ ...GOOD }, "s.json"), GOOD);
  const nan = { ...GOOD, bestValidLoss: null, bestStep: null, lossSinceLog: null, kernels: undefined };
  assert.equal(parseTrainState(nan, "s.json").bestValidLoss, null);
});

test("each wrong field is named with what was expected", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...GOOD, step: undefined }, `"step" must be a whole number >= 0, got nothing`],
    [{ ...GOOD, step: 1.5 }, `"step" must be a whole number >= 0, got 1.5`],
    [{ ...GOOD, loader: [] }, `"loader" must be an object, got []`],
    [{ ...GOOD, loader: { ...GOOD.loader, index: "3" } }, `"loader.index" must be a whole number >= 0, got "3"`],
    [{ ...GOOD, loader: { ...GOOD.loader, rng: null } }, `"loader.rng" must be an object, got null`],
    [
      { ...GOOD, dropoutRng: { s: [1, 2, 3, 2 ** 32], spare: null } },
      `"dropoutRng.s" must be four 32-bit unsigned integers, got [1,2,3,4294967296]`,
    ],
    [{ ...GOOD, bestValidLoss: "3" }, `"bestValidLoss" must be a number or null, got "3"`],
    [{ ...GOOD, bestStep: -1 }, `"bestStep" must be a whole number >= 0, got -1`],
    [{ ...GOOD, validHistory: {} }, `"validHistory" must be an array, got {}`],
    [
      { ...GOOD, validHistory: [{ ...GOOD.validHistory[0], tokens: null }] },
      `"validHistory[0].tokens" must be a whole number >= 0, got null`,
    ],
    [{ ...GOOD, trainSeconds: -2 }, `"trainSeconds" must be a number >= 0, got -2`],
    [{ ...GOOD, kernels: 4 }, `"kernels" must be a string, got 4`],
  ];
  for (const [raw, message] of cases) {
    assert.throws(() => parseTrainState(raw, "runs/a/last-00000300/train_state.json"), {
      message: `runs/a/last-00000300/train_state.json: ${message}`,
    });
  }
});
