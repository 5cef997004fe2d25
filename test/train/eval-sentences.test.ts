// evalSentences caps what each evaluation scores: the first whole validation batches of the split, so
// an evaluation of a large split stays short; 0 scores all of it. Training itself does not change, and
// `mlm eval --split valid` (evaluateRunValidation) scores the same sentences as training did.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, evaluateRunValidation } from "../../src/pipelines/index.js";
import { readMetrics } from "../../src/track/index.js";
import { train } from "../../src/train/trainer.js";
import { tempDir } from "../temp-dir.js";
import { tinyConfig } from "./fixtures.js";

test("evalSentences scores the first whole validation batches; 0 scores all; training is the same", async () => {
  const dir = tempDir("mlm-eval-sentences-");
  const common = { maxSteps: 4, evalSteps: 2, evalBatchSize: 4 };
  const all = await train(tinyConfig(dir, { ...common, evalSentences: 0, outDir: join(dir, "all") }));
  const capped = await train(tinyConfig(dir, { ...common, evalSentences: 6, outDir: join(dir, "capped") }));
  const tokens = (s: typeof all): number[] => s.evaluations.map((e) => e.metrics.tokens);
  for (const [a, c] of tokens(all).map((t, i) => [t, tokens(capped)[i]]))
    assert.ok(c > 0 && c < a, `capped evaluations score fewer masked tokens: ${c} of ${a}`);
  const trainLosses = async (run: string): Promise<number[]> =>
    (await readMetrics(join(dir, run, "metrics.jsonl"))).filter((r) => r.split === "train").map((r) => Number(r.loss));
  assert.deepEqual(await trainLosses("capped"), await trainLosses("all"));

  const loaded = await loadModel(join(dir, "capped"));
  try {
    const r = await evaluateRunValidation(loaded);
    const best = capped.evaluations.find((e) => e.step === capped.bestStep)!.metrics;
    assert.equal(r.sentences, 8, "6 sentences round up to two whole batches of 4");
    assert.equal(r.loss, best.loss);
    assert.equal(r.tokens, best.tokens);
  } finally {
    loaded.dispose();
  }
});
