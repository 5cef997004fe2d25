/**
 * What the transformers.js tests share: three tiny runs exported to ONNX in one temporary folder,
 * each a folder transformers.js loads by name from `env.localModelPath`:
 *
 *   tutorial     the tutorial's architecture (post-norm, ReLU, sinusoidal positions), end-of-word tokenizer
 *   fast         the fast recipe's architecture and tokenizer (end-of-word)
 *   classifier   a classifier fine-tuned from the fast run (labels "wet" / "dry", mean pooling)
 *   bert         the bert recipe's architecture (exactly BERT's), end-of-word tokenizer
 *   bert-classifier  a classifier fine-tuned from the bert run with its default head, BERT's
 *                (pooler dense + tanh, classifier; [CLS] pooling)
 *
 * and the sentences and expectations the Node and Chromium suites compare: mlm-ts's own top-5 tokens,
 * labels and embeddings, computed here through the library's pipelines.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/index.js";
import { RECIPES } from "../../src/config/recipes.js";
import { exportOnnx } from "../../src/interop/index.js";
import { classify, embed, fillMask, loadModel, type FillMaskPrediction } from "../../src/pipelines/index.js";
import { finetune, FINETUNE_DEFAULTS } from "../../src/train/finetune.js";
import { PLACES, tinySentences } from "../pipelines/tiny-run.js";
import { FAST_ARCHITECTURE, trainTinyInteropRun } from "./tiny-interop-run.js";

/** Masked sentences (one [MASK] each: transformers.js's fill-mask returns the first mask's candidates only). */
export const FILL_TEXTS = [
  "the red cat sat on the [MASK].",
  "the [MASK] dog sat on the log.",
  "the old fish sat on the [MASK].",
];
/** Sentences to classify and embed. */
export const TEXTS = [
  "the red cat sat on the mat.",
  "the blue fish sat on the pond.",
  "cow",
  "the happy young dog sat.",
];

/**
 * A text longer than the models' 16 tokens. mlm-ts truncates as Hugging Face's Rust and Python
 * tokenizers do ([CLS], 14 pieces, [SEP]); transformers.js 4.3 keeps the first 16 tokens of the
 * encoding, [SEP] cut off, so their answers on it differ (not compared; the length is).
 */
export const LONG_TEXT = Array.from({ length: 40 }, () => "the green bird").join(" ");

export interface Expected {
  /** Per FILL_TEXTS entry: mlm-ts's top 5 (fill-mask models only). */
  fill: { token: number; token_str: string; score: number }[][];
  /** Per TEXTS entry: every label with its score, best first (classifier only). */
  labels: { label: string; score: number }[][];
  /** Per pooling, the [TEXTS, d_model] embeddings as lists. */
  embeddings: { mean: number[][]; cls: number[][] };
}

/** The exported models' names (their folders under `root`). */
export const MASKED_LMS = ["tutorial", "fast", "bert"] as const;
export const CLASSIFIERS = ["classifier", "bert-classifier"] as const;
export type ModelName = (typeof MASKED_LMS)[number] | (typeof CLASSIFIERS)[number];

export interface ServingExports {
  /** The folder holding one export per model name (transformers.js's `localModelPath`). */
  root: string;
  /** The run directory of each model. */
  runs: Record<ModelName, string>;
  /** mlm-ts's answers per model name. */
  expected: Record<ModelName, Expected>;
}

const strip = (p: FillMaskPrediction): { token: number; token_str: string; score: number } => ({
  token: p.token,
  token_str: p.token_str,
  score: p.score,
});

async function expectationsOf(runDir: string): Promise<Expected> {
  const loaded = await loadModel(runDir, { task: "auto" });
  try {
    const fill =
      loaded.task === "fill-mask"
        ? FILL_TEXTS.map((t) => (fillMask(loaded, t, { topK: 5 }) as FillMaskPrediction[]).map(strip))
        : [];
    const labels =
      loaded.task === "text-classification"
        ? TEXTS.map((t) => classify(loaded, t, { topK: loaded.classifier.id2label.length }))
        : [];
    return {
      fill,
      labels,
      embeddings: {
        mean: embed(loaded, TEXTS, { pooling: "mean" }).tolist(),
        cls: embed(loaded, TEXTS, { pooling: "cls" }).tolist(),
      },
    };
  } finally {
    loaded.dispose();
  }
}

/**
 * Writes `<dir>/labelled.tsv`: the tiny corpus's sentences labelled "wet" when the animal sits on the
 * pond, "dry" elsewhere; returns its path.
 */
export function writeWetDryLabels(dir: string): string {
  const wet = new Set(PLACES.filter(([, place]) => place === "pond").map(([animal]) => animal));
  const rows = tinySentences().map((s) => `${s}\t${[...wet].some((a) => s.includes(` ${a} `)) ? "wet" : "dry"}`);
  const labelled = join(dir, "labelled.tsv");
  writeFileSync(labelled, ["sentence\tlabel", ...rows].join("\n") + "\n");
  return labelled;
}

/** Trains the three tiny runs (a few seconds), exports them under `<dir>/models` and computes mlm-ts's answers. */
export async function makeServingExports(): Promise<ServingExports> {
  const style = { tokenizerStyle: "end-of-word" } as const;
  const tutorial = await trainTinyInteropRun(200, style);
  const fast = await trainTinyInteropRun(200, { ...FAST_ARCHITECTURE, ...style });
  const bert = await trainTinyInteropRun(200, { ...RECIPES.bert, ...style });
  const root = join(tutorial.dir, "models");
  const labelled = writeWetDryLabels(tutorial.dir);
  const fineTuned = async (outDir: string, from: string, pooling: "cls" | "mean"): Promise<string> => {
    await finetune({
      config: resolveConfig({
        ...FINETUNE_DEFAULTS,
        data: labelled,
        batchSize: 8,
        learningRate: 1e-3,
        maxSteps: 16,
        evalSteps: 8,
        logSteps: 8,
        backend: "ts",
        progress: false,
        outDir,
      }),
      from,
      pooling,
    });
    return outDir;
  };
  const runs: Record<ModelName, string> = {
    tutorial: tutorial.runDir,
    fast: fast.runDir,
    bert: bert.runDir,
    classifier: await fineTuned(join(tutorial.dir, "classifier"), fast.runDir, "mean"),
    "bert-classifier": await fineTuned(join(tutorial.dir, "bert-classifier"), bert.runDir, "cls"),
  };
  const expected = {} as ServingExports["expected"];
  for (const [name, runDir] of Object.entries(runs) as [ModelName, string][]) {
    await exportOnnx(runDir, join(root, name), "test");
    expected[name] = await expectationsOf(runDir);
  }
  return { root, runs, expected };
}
