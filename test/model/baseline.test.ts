// The TF-IDF + logistic-regression baseline: TF-IDF values by hand (scikit-learn's formulas), the fit
// at the optimum of the penalised objective (its gradient, computed here densely, near 0), and the
// baseline on the bundled spam subjects well above the majority class.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TfidfVectorizer, terms } from "../../src/model/tfidf.js";
import { LogisticRegression } from "../../src/model/logistic-regression.js";
import { trainBaseline } from "../../src/model/baseline.js";
import { readLabelled, labelNames, labelIds } from "../../src/data/labelled.js";
import { splitLabelled } from "../../src/data/labelled-batches.js";
import { bundledSpamSubjects } from "../pipelines/spam-subjects.js";

test("terms: lowercase, two or more word characters (scikit-learn's token pattern)", () => {
  assert.deepEqual(terms("I don't LIKE it, café_2!"), ["don", "like", "it", "café_2"]);
});

test("TF-IDF: smooth idf, counts times idf, unit rows, the most frequent terms kept, columns in term order", () => {
  const texts = ["the cat the cat", "the dog", "a bird"];
  const v = TfidfVectorizer.fit(texts, 3); // counts: the 3, cat 2, dog 1, bird 1 -> keep the, cat, and bird (ties by term)
  assert.deepEqual([...v.vocabulary.keys()], ["bird", "cat", "the"]);
  const idf = (df: number): number => Math.log(4 / (1 + df)) + 1;
  assert.ok(Math.abs(v.idf[2] - idf(2)) < 1e-15);
  const X = v.transform(["the cat the cat", "dog"]);
  // row 0: the 2 * idf(2), cat 2 * idf(1), normalised
  const a = 2 * idf(1);
  const b = 2 * idf(2);
  const n = Math.hypot(a, b);
  assert.deepEqual([...X.cols.subarray(0, 2)], [1, 2]);
  assert.ok(Math.abs(X.vals[0] - a / n) < 1e-15 && Math.abs(X.vals[1] - b / n) < 1e-15);
  assert.equal(X.rowStart[2] - X.rowStart[1], 0, "a text of unknown terms has no entries");
});

test("logistic regression stops at the optimum of C * cross-entropy + ||W||^2 / 2 (binary and three classes)", () => {
  const texts = ["good fine great", "great good", "bad awful", "awful terrible bad", "fine okay", "terrible"];
  for (const [labels, K] of [
    [[1, 1, 0, 0, 1, 0], 2],
    [[2, 2, 0, 0, 1, 0], 3],
  ] as const) {
    const v = TfidfVectorizer.fit(texts, 100);
    const X = v.transform(texts);
    const lr = LogisticRegression.fit(X, labels, K, { tolerance: 1e-8, maxIterations: 500 });
    const P = lr.predictProba(X);
    // the gradient of C * sum CE + ||W||^2 / 2 (C = 1), densely: column k of the logits (the binary
    // model's one column is class 1's logit, class 0's being 0) gets X^T (p_k - y_k) + W_k
    const { W, cols } = lr.coefficients();
    const off = K === 2 ? 1 : 0;
    for (let k = 0; k < cols; k++) {
      const dz = Array.from({ length: X.rows }, (_, r) => P[r * K + off + k] - (labels[r] === off + k ? 1 : 0));
      assert.ok(Math.abs(dz.reduce((a, x) => a + x, 0)) < 1e-6, `intercept of column ${k}`);
      const g = Float64Array.from({ length: X.width }, (_, f) => W[f * cols + k]);
      for (let r = 0; r < X.rows; r++)
        for (let e = X.rowStart[r]; e < X.rowStart[r + 1]; e++) g[X.cols[e]] += X.vals[e] * dz[r];
      for (let f = 0; f < X.width; f++)
        assert.ok(Math.abs(g[f]) < 1e-6, `weight ${f} of column ${k}: gradient ${g[f]}`);
      assert.ok(
        W.some((w) => Math.abs(w) > 0.1),
        "the weights moved",
      );
    }
    assert.deepEqual([...lr.predict(X)], [...labels]);
  }
});

test("the baseline on the bundled spam subjects beats the majority class by a wide margin", async () => {
  const file = await readLabelled(bundledSpamSubjects());
  const { train, valid } = splitLabelled(file.examples, 0.2, 42);
  const names = labelNames({ ...file, examples: train });
  const ids = (examples: typeof train): Int32Array => labelIds({ ...file, examples }, names);
  const r = trainBaseline(
    { texts: train.map((e) => e.text), labels: ids(train) },
    { texts: valid.map((e) => e.text), labels: ids(valid) },
    names,
  );
  const majority = Math.max(...r.perClass.map((c) => c.support)) / r.examples;
  assert.equal(r.examples, valid.length);
  assert.ok(r.accuracy > majority + 0.2, `accuracy ${r.accuracy}, majority class ${majority}`);
  assert.ok(r.macroF1 > 0.8, `macro-F1 ${r.macroF1}`);
});
