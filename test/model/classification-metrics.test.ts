// Classification metrics against values computed by hand (and as scikit-learn's classification_report
// gives them for the same labels).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfusionMatrix, argmax, formatReport } from "../../src/model/classification-metrics.js";

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("three classes: accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix by hand", () => {
  // true:      a a a a b b b c c c
  // predicted: a a b c b b a c c a
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 0];
  const m = new ConfusionMatrix(3);
  truth.forEach((t, i) => m.add(t, pred[i]));
  const r = m.report(["a", "b", "c"]);
  assert.deepEqual(r.confusion, [
    [2, 1, 1],
    [1, 2, 0],
    [1, 0, 2],
  ]);
  close(r.accuracy, 6 / 10, "accuracy");
  // a: TP 2, predicted 4, actual 4 -> P 0.5, R 0.5, F1 0.5
  // b: TP 2, predicted 3, actual 3 -> P 2/3, R 2/3, F1 2/3
  // c: TP 2, predicted 3, actual 3 -> P 2/3, R 2/3, F1 2/3
  close(r.perClass[0].precision, 0.5, "P(a)");
  close(r.perClass[0].recall, 0.5, "R(a)");
  close(r.perClass[1].precision, 2 / 3, "P(b)");
  close(r.perClass[2].f1, 2 / 3, "F1(c)");
  close(r.macroF1, (0.5 + 2 / 3 + 2 / 3) / 3, "macro-F1");
  assert.deepEqual(
    r.perClass.map((c) => c.support),
    [4, 3, 3],
  );
  assert.equal(r.examples, 10);
});

test("unequal precision and recall, and a class never predicted (its precision 0, as zero_division=0)", () => {
  // true: 1 1 1 1 0 0 ; predicted: 1 1 0 0 1 1  -> class 1: TP 2, predicted 4, actual 4
  const m = new ConfusionMatrix(3);
  [1, 1, 1, 1, 0, 0].forEach((t, i) => m.add(t, [1, 1, 0, 0, 1, 1][i]));
  m.add(2, 0); // class 2: actual 1, never predicted
  const r = m.report(["x", "y", "z"]);
  // class 0: TP 0 (predicted 3, actual 2) -> 0; class 1: P 2/4, R 2/4; class 2: P 0 (0/0), R 0
  close(r.perClass[1].precision, 0.5, "P(y)");
  close(r.perClass[1].recall, 0.5, "R(y)");
  assert.equal(r.perClass[2].precision, 0);
  assert.equal(r.perClass[2].f1, 0);
  close(r.macroF1, 0.5 / 3, "macro-F1");
  close(r.accuracy, 2 / 7, "accuracy");
  // precision 2/3, recall 1/2 -> F1 = 2 * (2/3 * 1/2) / (2/3 + 1/2) = 4/7
  const n = new ConfusionMatrix(2);
  [
    [1, 1],
    [1, 1],
    [1, 0],
    [1, 0],
    [0, 1],
  ].forEach(([t, p]) => n.add(t, p));
  close(n.report(["0", "1"]).perClass[1].f1, 4 / 7, "F1 of P 2/3, R 1/2");
});

test("logits count by their argmax (first on ties); negative labels are skipped; the report prints", () => {
  assert.equal(argmax([0.1, 0.5, 0.5], 0, 3), 1);
  const m = new ConfusionMatrix(2);
  m.addLogits(new Float32Array([2, 1, 0, 3, 1, 1]), [0, 0, -100], 3);
  assert.deepEqual(m.report(["neg", "pos"]).confusion, [
    [1, 1],
    [0, 0],
  ]);
  const text = formatReport(m.report(["neg", "pos"]));
  assert.match(text, /accuracy\s+0\.5000\s+2/);
  assert.match(text, /confusion matrix/);
  assert.throws(() => m.add(2, 0), /class 2 or 0 outside \[0, 2\)/);
});
