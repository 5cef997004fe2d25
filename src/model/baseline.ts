/**
 * The tutorial's baseline: TF-IDF (10,000 most frequent terms) and logistic regression, trained on
 * the training split and scored on the validation split with the classifier's metrics, so that a
 * fine-tuned transformer can be compared with a bag of words on the same examples.
 *
 * The tutorial fits the vectorizer on training and validation text together; here it sees the
 * training text only, so that nothing about the validation split reaches the model.
 */
import { ConfusionMatrix, type ClassificationReport } from "./classification-metrics.js";
import { LogisticRegression } from "./logistic-regression.js";
import { TfidfVectorizer } from "./tfidf.js";

/** Texts (a pair joined by a space) and class ids of one split. */
export interface BaselineSplit {
  texts: readonly string[];
  labels: ArrayLike<number>;
}

export interface BaselineResult extends ClassificationReport {
  /** Columns of the TF-IDF matrix. */
  features: number;
  /** L-BFGS iterations of the fit. */
  iterations: number;
  /** Wall time of fitting and scoring, in seconds. */
  seconds: number;
}

/** The text the baseline sees for an example. */
export function baselineText(e: { text: string; textPair?: string }): string {
  return e.textPair === undefined ? e.text : `${e.text} ${e.textPair}`;
}

/**
 * @example
 *   const r = trainBaseline({ texts: trainTexts, labels: trainIds }, { texts: validTexts, labels: validIds }, ["ham", "spam"]);
 *   console.log(r.accuracy, r.macroF1);
 */
export function trainBaseline(
  train: BaselineSplit,
  valid: BaselineSplit,
  id2label: readonly string[],
  maxFeatures = 10000,
): BaselineResult {
  const start = performance.now();
  const vectorizer = TfidfVectorizer.fit(train.texts, maxFeatures);
  const model = LogisticRegression.fit(vectorizer.transform(train.texts), train.labels, id2label.length);
  const predicted = model.predict(vectorizer.transform(valid.texts));
  const matrix = new ConfusionMatrix(id2label.length);
  predicted.forEach((p, i) => matrix.add(valid.labels[i], p));
  return {
    ...matrix.report(id2label),
    features: vectorizer.width,
    iterations: model.iterations,
    seconds: (performance.now() - start) / 1000,
  };
}
