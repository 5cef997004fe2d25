/**
 * Evaluating a trained model on a corpus: mean masked-token cross-entropy, perplexity = exp(loss),
 * top-1 and top-5 accuracy at the masked positions only, with masks fixed by a seed (the validation
 * loader's fixed masks), so two evaluations of the same file with the same seed score the same
 * positions. `evaluateRunValidation` re-creates a run's own validation split and scores it exactly as
 * the training loop did.
 */
import {
  MlmDataLoader,
  neverMaskedIds,
  prepareData,
  readCorpus,
  requireToken,
  runLoaders,
  sampleAndSplit,
  tokenizeSentences,
  type CorpusStats,
} from "../data/index.js";
import { capacityFor, evaluateSplit, type EvalMetrics } from "../model/index.js";
import { CONFIG_TABLE, DEFAULT_CONFIG, checkValues, defaultsOf, type FieldTable, type ValuesOf } from "../config.js";
import type { LoadedModel } from "./load-model.js";

/**
 * The options of a corpus evaluation, declared as a setting table (the `mlm eval` flags derive from
 * it): every sentence by default, the training configuration's defaults and ranges for the rest.
 */
export const EVALUATE_CORPUS_OPTIONS = {
  format: CONFIG_TABLE.format,
  textField: CONFIG_TABLE.textField,
  /** Drawn with `seed`; 1 scores every sentence. */
  sample: { ...CONFIG_TABLE.sample, default: 1, help: "fraction of the sentences scored" },
  seed: { ...CONFIG_TABLE.seed, help: "seed of the sample and the masks" },
  maskProb: CONFIG_TABLE.maskProb,
  maskTokenRate: { ...CONFIG_TABLE.maskTokenRate, default: null, none: "the run's" },
  randomTokenRate: { ...CONFIG_TABLE.randomTokenRate, default: null, none: "the run's" },
  batchSize: CONFIG_TABLE.batchSize,
  progress: { kind: "boolean", default: false, help: "a progress bar on stderr" },
} as const satisfies FieldTable;

/** Options of `evaluateCorpus`; each missing one takes its default from `EVALUATE_CORPUS_OPTIONS`. */
export type EvaluateCorpusOptions = Partial<ValuesOf<typeof EVALUATE_CORPUS_OPTIONS>>;

/** Metrics of a corpus evaluation. */
export interface CorpusEvaluation extends EvalMetrics {
  /** Sentences scored. */
  sentences: number;
  /** What reading the file did (null for a run's validation split). */
  corpus: CorpusStats | null;
}

/**
 * Scores the model on a corpus file (TSV, plain text or JSON lines, read as in training: trimmed,
 * empty lines and duplicates dropped; sentences longer than the model are truncated).
 *
 * @example
 *   import { loadModel, evaluateCorpus } from "mlm-ts/pipelines";
 *   const loaded = await loadModel("runs/tatoeba");
 *   const r = await evaluateCorpus(loaded, "data/tatoeba-en.txt", { sample: 0.01, seed: 1 });
 *   console.log(r.loss, r.perplexity, r.accuracy, r.top5, r.tokens, r.sentences);
 *   // 4.12 61.6 0.31 0.52 1043 652
 *   loaded.dispose();
 */
export async function evaluateCorpus(
  loaded: LoadedModel,
  path: string,
  options: EvaluateCorpusOptions = {},
): Promise<CorpusEvaluation> {
  const o = { ...defaultsOf(EVALUATE_CORPUS_OPTIONS), ...checkValues(EVALUATE_CORPUS_OPTIONS, options, "evaluate") };
  const { sample, seed, maskProb, batchSize } = o;

  const { sentences: all, stats } = await readCorpus(path, { format: o.format, textField: o.textField });
  if (all.length === 0) throw new Error(`${path}: no sentences to evaluate`);
  const sentences = sample === 1 ? all : sampleAndSplit(all, { sample, trainFraction: 1, seed }).train;
  const tok = loaded.tokenizer;
  const split = tokenizeSentences(sentences, (s) => tok.encodeIds(s), {
    maxLen: loaded.modelConfig.maxLen,
    label: "tokenize",
    progress: o.progress,
  });

  const loader = new MlmDataLoader(split, {
    batchSize,
    padding: "longest",
    maxLen: loaded.modelConfig.maxLen,
    shuffle: false,
    fixedMasks: true,
    seed,
    mask: {
      probability: maskProb,
      maskTokenRate: o.maskTokenRate ?? loaded.config.maskTokenRate,
      randomTokenRate: o.randomTokenRate ?? loaded.config.randomTokenRate,
    },
    padId: requireToken(tok, "[PAD]"),
    maskId: requireToken(tok, "[MASK]"),
    vocabSize: tok.vocabSize,
    isSpecial: neverMaskedIds(tok),
  });
  const metrics = scoreLoader(loaded, loader, false, o.progress);
  return { ...metrics, sentences: split.count, corpus: stats };
}

/**
 * Scores the run's own validation split as training did: the same corpus, sample, split seed,
 * tokenizer, batch size, padding, masking seed and rates. Needs the run's corpus file (config.data,
 * relative to the directory training ran in, or the bundled corpus); the tokenized split is cached in
 * config.cacheDir as in training.
 *
 * @example
 *   const loaded = await loadModel("runs/tatoeba");
 *   const r = await evaluateRunValidation(loaded);   // equals the best checkpoint's validation loss
 *   console.log(r.loss, r.sentences);
 */
export async function evaluateRunValidation(
  loaded: LoadedModel,
  options: { progress?: boolean } = {},
): Promise<CorpusEvaluation> {
  const progress = options.progress ?? DEFAULT_CONFIG.progress;
  const config = { ...loaded.config, progress };
  const data = await prepareData(config, () => {}, loaded.tokenizer);
  const { valid: loader } = runLoaders(config, data.tokenizer, data.train, data.valid);
  const metrics = scoreLoader(loaded, loader, config.fullHead, progress);
  return { ...metrics, sentences: data.valid.count, corpus: null };
}

/** Grows the model to the loader's largest batch, then runs `evaluateSplit` over every batch. */
function scoreLoader(loaded: LoadedModel, loader: MlmDataLoader, fullHead: boolean, progress: boolean): EvalMetrics {
  const model = loaded.ensureCapacity(capacityFor([loader]));
  return evaluateSplit(model, loader, { fullHead, progress, label: "eval" });
}
