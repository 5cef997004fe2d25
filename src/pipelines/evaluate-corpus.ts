/**
 * Evaluating a trained model on a corpus: mean masked-token cross-entropy, perplexity = exp(loss),
 * top-1 and top-5 accuracy at the masked positions only, with masks fixed by a seed (the validation
 * loader's fixed masks), so two evaluations of the same file with the same seed score the same
 * positions. `evaluateRunValidation` re-creates a run's own validation split and scores it exactly as
 * the training loop did.
 */
import {
  bundledCorpusPath,
  MlmDataLoader,
  neverMaskedIds,
  prepareData,
  readCorpus,
  requireToken,
  runLoaders,
  sampleAndSplit,
  tokenizeSteps,
  type CorpusStats,
  type TokenizedSplit,
} from "../data/index.js";
import { capacityFor, evaluateSplit, firstBatches, type EvalMetrics, type FixedBatches } from "../model/index.js";
import { CONFIG_TABLE, checkValues, defaultsOf, type FieldTable, type ValuesOf } from "../config/index.js";
import { RunDirectory } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { runCooperatively } from "../util/cooperative.js";
import { fingerprintFile } from "../util/file-fingerprint.js";
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
export type EvaluateCorpusOptions = Partial<ValuesOf<typeof EVALUATE_CORPUS_OPTIONS>> & {
  /** Stops reading, tokenizing or scoring (throwing its reason) once aborted. */
  signal?: AbortSignal;
};

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
  const { signal, ...settings } = options;
  const o = { ...defaultsOf(EVALUATE_CORPUS_OPTIONS), ...checkValues(EVALUATE_CORPUS_OPTIONS, settings, "evaluate") };
  const { sample, seed, maskProb, batchSize } = o;

  const { sentences: all, stats } = await readCorpus(path, {
    format: o.format,
    textField: o.textField,
    maxLineBytes: loaded.config.maxLineBytes,
    maxBytes: loaded.config.maxCorpusBytes,
    signal,
  });
  if (all.length === 0) throw new Error(`${path}: no sentences to evaluate`);
  const sentences = sample === 1 ? all : sampleAndSplit(all, { sample, trainFraction: 1, seed }).train;
  const tok = loaded.tokenizer;
  const split = await runCooperatively(
    tokenizeSteps(sentences, (s) => tok.encodeIds(s), {
      maxLen: loaded.modelConfig.maxLen,
      label: "tokenize",
      progress: o.progress,
    }),
    { signal },
  );

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
  const metrics = await scoreLoader(loaded, loader, loader, false, o.progress, signal);
  if (metrics.tokens === 0) throw nothingMasked(path, split.count, maskProb, countMaskable(split, tok));
  return { ...metrics, sentences: split.count, corpus: stats };
}

/**
 * Scores the run's own validation split as training did: the same corpus, sample, split seed,
 * tokenizer, batch size, padding, masking seed and rates. A corpus that changed since the run started
 * (its inputs.json) is refused with a message naming the file and its old and new size or hash. Needs the run's corpus file (config.data,
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
  options: { progress?: boolean; signal?: AbortSignal } = {},
): Promise<CorpusEvaluation> {
  const progress = options.progress ?? EVALUATE_CORPUS_OPTIONS.progress.default;
  const config = { ...loaded.config, progress };
  if (loaded.runDir !== null) {
    // The split is drawn from the corpus file: another file's split holds other sentences.
    await new RunDirectory(loaded.runDir).checkInputs(
      () => fingerprintFile(config.data ?? bundledCorpusPath(), { cacheDir: config.cacheDir }),
      "its validation split would hold other sentences than the ones training scored",
    );
  }
  const data = await prepareData(config, () => {}, loaded.tokenizer, options.signal);
  const { valid: loader } = runLoaders(config, data.tokenizer, data.train, data.valid);
  // The sentences evaluations during training score (config.evalSentences), so the figures agree.
  const batchSize = config.evalBatchSize ?? config.batchSize;
  const scored = firstBatches(loader, config.evalSentences, batchSize);
  const metrics = await scoreLoader(loaded, loader, scored, config.fullHead, progress, options.signal);
  if (metrics.tokens === 0)
    throw nothingMasked(
      `the validation split of ${loaded.runDir ?? loaded.checkpointDir}`,
      data.valid.count,
      config.maskProb,
      countMaskable(data.valid, data.tokenizer),
    );
  return {
    ...metrics,
    sentences: Math.min(data.valid.count, scored.batchesPerEpoch * batchSize),
    corpus: null,
  };
}

/** Tokens of a split that masking may select (every id but [PAD], [CLS], [SEP] and [MASK]). */
function countMaskable(split: TokenizedSplit, tokenizer: Tokenizer): number {
  const never = new Set(neverMaskedIds(tokenizer));
  const total = split.offsets[split.count];
  let n = 0;
  for (let i = 0; i < total; i++) if (!never.has(split.ids[i])) n++;
  return n;
}

/** The error of an evaluation that scored no token: its loss would be NaN. */
function nothingMasked(what: string, sentences: number, maskProb: number, maskable: number): Error {
  const why =
    maskable === 0
      ? "its sentences hold no maskable token (only [CLS] and [SEP]: empty after tokenizing?)"
      : `only ${maskable} maskable token${maskable === 1 ? "" : "s"}, each masked with probability ${maskProb}, and none was drawn`;
  return new Error(
    `${what}: no token was masked in ${sentences} sentence${sentences === 1 ? "" : "s"} (${why}); evaluate more or longer sentences or raise --mask-prob`,
  );
}

/** Grows the model to the loader's largest batch, then runs `evaluateSplit` over `batches` (default: all). */
async function scoreLoader(
  loaded: LoadedModel,
  loader: MlmDataLoader,
  batches: FixedBatches,
  fullHead: boolean,
  progress: boolean,
  signal: AbortSignal | undefined,
): Promise<EvalMetrics> {
  const model = loaded.ensureCapacity(capacityFor([loader]));
  return evaluateSplit(model, batches, { fullHead, progress, label: "eval", signal });
}
