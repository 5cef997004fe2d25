// The studio's reading of fine-tuning evaluations (confusion matrices in id2label order, labels from
// the record when config.json has none, other records and bad lines skipped) and its check that a
// lock's process is an mlm trainer before it is sent SIGINT.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { classificationEvaluations } from "../../src/studio/evaluations.js";
import { isTrainerCommand } from "../../src/studio/stop-run.js";

const record = (step: number, counts: Record<string, number>): string =>
  JSON.stringify({ step, split: "valid", loss: 0.5, accuracy: 0.75, macroF1: 0.7, ...counts, time: 1 });

test("confusion matrices come back in id2label order, rows true and columns predicted", () => {
  const counts = { "confusion/b/b": 4, "confusion/b/a": 1, "confusion/a/a": 3, "confusion/a/b": 2 };
  const text = [
    JSON.stringify({ step: 5, split: "train", loss: 1, time: 1 }),
    "{not json",
    record(10, counts),
    JSON.stringify({ step: 10, split: "valid", loss: 1, perplexity: 3, time: 1 }), // a masked-LM evaluation
    "",
  ].join("\n");
  assert.deepEqual(classificationEvaluations(text, ["a", "b"]), [
    {
      step: 10,
      loss: 0.5,
      accuracy: 0.75,
      macroF1: 0.7,
      labels: ["a", "b"],
      matrix: [
        [3, 2],
        [1, 4],
      ],
    },
  ]);
  // Without id2label: the labels in the order the record names them.
  assert.deepEqual(classificationEvaluations(text, null)[0].labels, ["b", "a"]);
  assert.deepEqual(classificationEvaluations(text, null)[0].matrix, [
    [4, 1],
    [2, 3],
  ]);
  // A class never predicted nor seen in a count is a row and column of zeros.
  assert.deepEqual(classificationEvaluations(text, ["a", "b", "c"])[0].matrix, [
    [3, 2, 0],
    [1, 4, 0],
    [0, 0, 0],
  ]);
});

test("only an mlm train or finetune command line counts as a trainer", () => {
  assert.equal(isTrainerCommand(["/usr/bin/node", "/x/bin/mlm.js", "train", "c.txt"]), true);
  assert.equal(isTrainerCommand(["node", "/usr/lib/node_modules/mlm-ts/bin/mlm", "finetune", "d.tsv"]), true);
  assert.equal(isTrainerCommand(["node", "/x/dist/src/cli/main.js", "train", "--resume", "runs/a"]), true);
  assert.equal(isTrainerCommand(["node", "/x/bin/mlm.js", "studio"]), false);
  assert.equal(isTrainerCommand(["node", "/x/bin/mlm.js", "fill", "train"]), false);
  assert.equal(isTrainerCommand(["/usr/bin/python3", "train.py", "train"]), false);
  assert.equal(isTrainerCommand(["bash", "-c", "sleep 100"]), false);
  assert.equal(isTrainerCommand([]), false);
});
