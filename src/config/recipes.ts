/**
 * Named recipes: sets of settings that go together, applied over the table's defaults and under a
 * `--config` file and flags (defaults < recipe < file < flags). "tutorial" is the table's defaults,
 * the tutorial's own settings, so that its figures stay comparable; the others say why they differ.
 * Evaluation uses the same split and fixed validation masks whatever the recipe (no recipe changes the
 * sample, the mask rate or the seeds); "fast" trains its tokenizer in the "end-of-word" style, so its
 * losses are over another vocabulary than the tutorial's.
 *
 * @example
 *   resolveConfig({ recipe: "fast" }).norm;                      // "pre"
 *   resolveConfig({ recipe: "fast", learningRate: 5e-4 }).learningRate;  // 5e-4: keys given win
 */
import type { TrainConfig } from "./table.js";

/** The recipes' names; "tutorial" first (the default). */
export const RECIPE_NAMES = ["tutorial", "fast", "bert"] as const;

export type RecipeName = (typeof RECIPE_NAMES)[number];

/** The settings each recipe changes from the table's defaults. */
export const RECIPES: Readonly<Record<RecipeName, Readonly<Partial<TrainConfig>>>> = {
  tutorial: {},
  /**
   * A model that learns words rather than word frequencies in minutes on two CPU cores; the README's
   * "What training reaches" has the sweep behind each value. Token vectors on the scale of the positions
   * (embedInitStd ~ 1/sqrt(dModel)); pre-norm blocks with GELU; an output layer tied to the embedding
   * (rare words learn from both uses); learned positions; 40% of the tokens predicted in training
   * batches (validation keeps the tutorial's 15% masks); no dropout (a short run does not overfit);
   * shuffled batches; a higher learning rate, warmed up then decayed linearly to 0 (in the sweeps,
   * 1.5e-3 with linear decay beat 1e-3 with cosine decay by a point of accuracy); fewer evaluations.
   * Meant for `--time-budget`.
   */
  fast: {
    embedInitStd: 0.088,
    norm: "pre",
    activation: "gelu",
    tieOutput: true,
    positions: "learned",
    trainMaskProb: 0.4,
    dropout: 0,
    shuffle: true,
    learningRate: 1.5e-3,
    warmupSteps: 500,
    lrSchedule: "linear",
    evalSteps: 1000,
    tokenizerStyle: "end-of-word",
  },
  /**
   * Exactly Hugging Face's BertForMaskedLM, so `mlm export --format hf` writes BERT's own tensors:
   * LayerNorm of token + learned position (no sqrt(dModel) factor), post-norm blocks, GELU (the tanh
   * form, which transformers calls "gelu_new"), the output tied to the embedding; BERT's init scale
   * (initializer_range 0.02). The tutorial's training settings otherwise.
   */
  bert: {
    embedding: "layernorm",
    positions: "learned",
    // post-norm: the table's default, as in BERT
    activation: "gelu",
    tieOutput: true,
    embedInitStd: 0.02,
  },
};
