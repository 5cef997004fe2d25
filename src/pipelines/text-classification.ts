/**
 * The text-classification and feature-extraction pipelines, in the shapes of transformers.js's:
 *
 *   classify(loaded, "text")             -> [{ label, score }, ...]   (top-k, best first)
 *   classify(loaded, ["a", "b"])         -> [{ label, score }, ...]   (one per text when topK is 1)
 *                                        -> [[{ label, score }, ...], ...]   (topK > 1)
 *   embed(loaded, ["a", "b"], { pooling: "mean", normalize: true })
 *                                        -> { dims: [2, C], data: Float32Array, tolist() }
 *
 * Texts run in batches of the loaded model's size (`maxBatch` sentences), truncated to its length,
 * on its backend: with the wasm backend every batch is spread over its threads.
 */
import { checkValues, defaultsOf, type FieldTable, type ValuesOf } from "../config/index.js";
import { encodeLabelled, LabelledLoader, type LabelledSplit } from "../data/index.js";
import { POOLINGS, type Pooling } from "../model/index.js";
import type { AnyLoadedModel, LoadedClassifier } from "./load-model.js";
import { softmaxInto } from "./fill-mask.js";

/** One input: a text, or a pair of texts (encoded `[CLS] text [SEP] text_pair [SEP]`). */
export type TextInput = string | { text: string; text_pair?: string };

export const CLASSIFY_OPTIONS = {
  topK: { kind: "int", default: 1, min: 1, help: "labels per text, best first" },
} as const satisfies FieldTable;

export type ClassifyOptions = Partial<ValuesOf<typeof CLASSIFY_OPTIONS>>;

export interface ClassificationOutput {
  label: string;
  score: number;
}

export const EMBED_OPTIONS = {
  pooling: {
    kind: "choice",
    choices: POOLINGS,
    default: "mean",
    help: "sentence vector: mean of the tokens, or [CLS]",
  },
  normalize: { kind: "boolean", default: false, help: "scale each vector to unit length" },
} as const satisfies FieldTable;

export type EmbedOptions = Partial<ValuesOf<typeof EMBED_OPTIONS>>;

/** Sentence vectors, row-major [dims[0] texts, dims[1] = dModel], as transformers.js's Tensor. */
export interface Embeddings {
  dims: [number, number];
  data: Float32Array;
  tolist(): number[][];
}

/** Encodes the inputs and runs `run(loader, i)` for each of their batches of the model's size. */
function forEachBatch(
  loaded: AnyLoadedModel,
  inputs: readonly TextInput[],
  run: (split: LabelledLoader, index: number) => void,
): LabelledSplit {
  const examples = inputs.map((x) => (typeof x === "string" ? { text: x } : { text: x.text, textPair: x.text_pair }));
  const split = encodeLabelled(loaded.tokenizer, examples, new Int32Array(examples.length), loaded.modelConfig.maxLen);
  const batchSize = loaded.task === "text-classification" ? loaded.maxBatch : loaded.model.capacity.maxSeqs;
  const padId = loaded.tokenizer.tokenToId("[PAD]") ?? 0;
  if (split.count === 0) return split;
  const loader = new LabelledLoader(split, { batchSize, maxLen: loaded.modelConfig.maxLen, padId });
  for (let i = 0; i < loader.batchesPerEpoch; i++) run(loader, i);
  return split;
}

/**
 * Labels and scores (softmax over the classes) of each text, best first.
 *
 * @example
 *   import { loadModel, classify } from "mlm-ts/pipelines";
 *   const loaded = await loadModel("runs/spam", { task: "text-classification" });
 *   console.log(classify(loaded, "Get rich quick!!!"));   // [ { label: 'spam', score: 0.97 } ]
 *   loaded.dispose();
 */
export function classify(loaded: LoadedClassifier, input: TextInput, options?: ClassifyOptions): ClassificationOutput[];
export function classify(
  loaded: LoadedClassifier,
  input: readonly TextInput[],
  options?: ClassifyOptions,
): ClassificationOutput[] | ClassificationOutput[][];
export function classify(
  loaded: LoadedClassifier,
  input: TextInput | readonly TextInput[],
  options: ClassifyOptions = {},
): ClassificationOutput[] | ClassificationOutput[][] {
  const { topK } = { ...defaultsOf(CLASSIFY_OPTIONS), ...checkValues(CLASSIFY_OPTIONS, options, "classify") };
  const names = loaded.classifier.id2label;
  const N = names.length;
  const k = Math.min(topK, N);
  const inputs = Array.isArray(input) ? (input as readonly TextInput[]) : [input as TextInput];
  const results: ClassificationOutput[][] = [];
  const probs = new Float64Array(N);
  forEachBatch(loaded, inputs, (loader, i) => {
    const batch = loader.batch(0, i);
    const logits = loaded.model.logits(batch);
    for (let b = 0; b < batch.numSeqs; b++) {
      softmaxInto(logits.subarray(b * N, b * N + N), probs);
      const order = [...probs.keys()].sort((x, y) => probs[y] - probs[x] || x - y);
      results.push(order.slice(0, k).map((c) => ({ label: names[c], score: probs[c] })));
    }
  });
  if (!Array.isArray(input)) return results[0];
  return k === 1 ? results.map((r) => r[0]) : results;
}

/**
 * Sentence vectors from the encoder of any run (masked-LM or classifier): the mean of each text's
 * token vectors (padding left out) or its [CLS] vector, optionally scaled to unit length.
 *
 * @example
 *   const loaded = await loadModel("runs/tatoeba", { task: "auto" });
 *   const out = embed(loaded, ["I like tea.", "I love tea."], { normalize: true });
 *   // out.dims = [2, 128]; cosine similarity = dot product of the two rows
 */
export function embed(
  loaded: AnyLoadedModel,
  input: TextInput | readonly TextInput[],
  options: EmbedOptions = {},
): Embeddings {
  const { pooling, normalize } = { ...defaultsOf(EMBED_OPTIONS), ...checkValues(EMBED_OPTIONS, options, "embed") };
  const inputs = Array.isArray(input) ? (input as readonly TextInput[]) : [input as TextInput];
  const C = loaded.modelConfig.dModel;
  const data = new Float32Array(inputs.length * C);
  let row = 0;
  forEachBatch(loaded, inputs, (loader, i) => {
    const batch = loader.batch(0, i);
    const vectors = loaded.model.embed(batch, pooling as Pooling);
    data.set(vectors.subarray(0, batch.numSeqs * C), row * C);
    row += batch.numSeqs;
  });
  if (normalize) {
    for (let r = 0; r < inputs.length; r++) {
      const v = data.subarray(r * C, r * C + C);
      let ss = 0;
      for (let c = 0; c < C; c++) ss += v[c] * v[c];
      const scale = 1 / Math.max(Math.sqrt(ss), 1e-12);
      for (let c = 0; c < C; c++) v[c] *= scale;
    }
  }
  return {
    dims: [inputs.length, C],
    data,
    tolist: () => Array.from({ length: inputs.length }, (_, r) => Array.from(data.subarray(r * C, r * C + C))),
  };
}
