/**
 * The task of a run, as its config.json files record it beside the settings: nothing for a masked
 * language model (every run before fine-tuning existed), or for a classifier
 *
 *   "task": "text-classification",
 *   "classifier": { "id2label": ["ham", "spam"], "pooling": "cls", "head": "tutorial", "from": "runs/pre", "fromFingerprint": "..." }
 *
 * (`head`: the classification head, "tutorial" when absent, as runs from before BERT's head have it; `from`: the run whose encoder it started from, null for a random start; `fromFingerprint`: that
 * run's tokenizer.json SHA-256). The names follow transformers.js / Hugging Face configs (id2label).
 */
import { checkClassifierHead, checkPooling, type ClassifierHead, type Pooling } from "../model/index.js";

export type TaskName = "fill-mask" | "text-classification";

export interface ClassifierRecord {
  /** Class names in class-id order. */
  id2label: string[];
  pooling: Pooling;
  /** The head on the pooled vector: "tutorial" or "bert" (model/classifier-heads.ts). */
  head: ClassifierHead;
  /** The run the encoder was initialised from, or null (random initialisation). */
  from: string | null;
  /** SHA-256 of that run's tokenizer.json, or null. */
  fromFingerprint: string | null;
}

/** The config.json entries of a task (none for the masked language model). */
export function taskRecord(classifier: ClassifierRecord | null): Record<string, unknown> {
  return classifier === null ? {} : { task: "text-classification", classifier };
}

/**
 * Splits a config.json object into its task and the rest (the settings, and "model" for a
 * checkpoint); each bad entry is named with `source`.
 */
export function splitTaskRecord(
  raw: Record<string, unknown>,
  source: string,
): { task: TaskName; classifier: ClassifierRecord | null; rest: Record<string, unknown> } {
  const { task, classifier, ...rest } = raw;
  if (task === undefined || task === "fill-mask") {
    if (classifier !== undefined) throw new Error(`${source}: "classifier" without "task": "text-classification"`);
    return { task: "fill-mask", classifier: null, rest };
  }
  if (task !== "text-classification")
    throw new Error(`${source}: "task" must be "fill-mask" or "text-classification", got ${JSON.stringify(task)}`);
  if (typeof classifier !== "object" || classifier === null || Array.isArray(classifier))
    throw new Error(`${source}: a text-classification run needs a "classifier" object (id2label, pooling)`);
  const c = classifier as Record<string, unknown>;
  const { id2label } = c;
  if (!Array.isArray(id2label) || id2label.length < 2 || !id2label.every((l) => typeof l === "string"))
    throw new Error(`${source}: "classifier.id2label" must be a list of at least 2 label names`);
  if (new Set(id2label).size !== id2label.length) throw new Error(`${source}: "classifier.id2label" repeats a name`);
  const optionalText = (key: string): string | null => {
    const v = c[key] ?? null;
    if (v !== null && typeof v !== "string") throw new Error(`${source}: "classifier.${key}" must be a string or null`);
    return v;
  };
  return {
    task: "text-classification",
    classifier: {
      id2label: id2label,
      pooling: checkPooling(c.pooling ?? "cls", `${source}: classifier`),
      head: checkClassifierHead(c.head ?? "tutorial", `${source}: classifier`),
      from: optionalText("from"),
      fromFingerprint: optionalText("fromFingerprint"),
    },
    rest,
  };
}
