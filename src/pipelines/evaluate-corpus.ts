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
  tokenizeSteps,
  type CorpusStats,
  type TokenizedSplit,
} from "../data/index.js";
import { evaluateSplit, type EvalMetrics, type PackMode } from "../model/index.js";
import type { TrainConfig } from "../config.js";
import { runCooperatively } from "../util/cooperative.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { LoadedModel } from "./load-model.js";

export interface EvaluateCorpusOptions {
  /** Corpus format; "auto" (default) decides from the extension and the content. */
  format?: TrainConfig["format"];
  /** JSON lines: the field holding the text. Default "text". */
  textField?: string;
  /** Fraction of the unique sentences scored, drawn with `seed`. Default 1 (all). */
  sample?: number;
  /** Seed of the sample and of the masks. Default 0. */
  seed?: number;
  /** Probability that a token is masked. Default 0.15. */
  maskProb?: number;
  /** Of the masked tokens, the share replaced by [MASK]; default: the run's maskTokenRate. */
  maskTokenRate?: number;
  /** Of the masked tokens, the share replaced by a random token; default: the run's randomTokenRate. */
  randomTokenRate?: number;
  /** Sentences per batch. Default 64. */
  batchSize?: number;
  /** A progress bar on stderr. Default false. */
  progress?: boolean;
  /** Stops reading, tokenizing or scoring (throwing its reason) once aborted. */
  signal?: AbortSignal;
}

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
  const sample = options.sample ?? 1;
  const seed = options.seed ?? 0;
  const maskProb = options.maskProb ?? 0.15;
  const batchSize = options.batchSize ?? 64;
  if (!(sample > 0 && sample <= 1)) throw new Error(`evaluate: sample must be in (0, 1], got ${sample}`);
  if (!(Number.isInteger(seed) && seed >= 0)) throw new Error(`evaluate: seed must be an integer >= 0, got ${seed}`);
  if (!(maskProb > 0 && maskProb <= 1)) throw new Error(`evaluate: maskProb must be in (0, 1], got ${maskProb}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`evaluate: batchSize must be an integer >= 1, got ${batchSize}`);

  const { sentences: all, stats } = await readCorpus(path, {
    format: options.format ?? "auto",
    textField: options.textField ?? "text",
    signal: options.signal,
  });
  if (all.length === 0) throw new Error(`${path}: no sentences to evaluate`);
  const sentences = sample === 1 ? all : sampleAndSplit(all, { sample, trainFraction: 1, seed }).train;
  const tok = loaded.tokenizer;
  const split = await runCooperatively(
    tokenizeSteps(sentences, (s) => tok.encodeIds(s), {
      maxLen: loaded.modelConfig.maxLen,
      label: "tokenize",
      progress: options.progress ?? false,
    }),
    { signal: options.signal },
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
      maskTokenRate: options.maskTokenRate ?? loaded.config.maskTokenRate,
      randomTokenRate: options.randomTokenRate ?? loaded.config.randomTokenRate,
    },
    padId: requireToken(tok, "[PAD]"),
    maskId: requireToken(tok, "[MASK]"),
    vocabSize: tok.vocabSize,
    isSpecial: neverMaskedIds(tok),
  });
  const metrics = await scoreLoader(loaded, loader, "unpadded", false, options);
  if (metrics.tokens === 0) throw nothingMasked(path, split.count, maskProb, countMaskable(split, tok));
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
  options: { progress?: boolean; signal?: AbortSignal } = {},
): Promise<CorpusEvaluation> {
  const config = { ...loaded.config, progress: options.progress ?? false };
  const data = await prepareData(config, () => {}, loaded.tokenizer, options.signal);
  const { valid: loader, packMode } = runLoaders(config, data.tokenizer, data.train, data.valid);
  const metrics = await scoreLoader(loaded, loader, packMode, config.fullHead, options);
  if (metrics.tokens === 0)
    throw nothingMasked(
      `the validation split of ${loaded.runDir ?? loaded.checkpointDir}`,
      data.valid.count,
      config.maskProb,
      countMaskable(data.valid, data.tokenizer),
    );
  return { ...metrics, sentences: data.valid.count, corpus: null };
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

/** Sizes the model for the loader's largest batch, then runs `evaluateSplit` over every batch. */
async function scoreLoader(
  loaded: LoadedModel,
  loader: MlmDataLoader,
  packMode: PackMode,
  fullHead: boolean,
  options: { progress?: boolean; signal?: AbortSignal },
): Promise<EvalMetrics> {
  let maxRows = 0;
  let maxMasked = 0;
  // A first pass over the (fixed, cheap to collate) batches gives the exact buffer sizes needed.
  for (let i = 0; i < loader.batchesPerEpoch; i++) {
    const b = loader.batch(0, i);
    let rows = 0;
    if (packMode === "padded") rows = b.B * b.S;
    else for (let s = 0; s < b.B; s++) rows += b.lengths[s];
    maxRows = Math.max(maxRows, rows);
    maxMasked = Math.max(maxMasked, b.numMasked);
  }
  const model = loaded.ensureCapacity({
    maxRows,
    maxSeqs: Math.min(loader.batchSize, loader.count),
    maxHeadRows: fullHead ? maxRows : Math.max(1, maxMasked),
  });
  return evaluateSplit(model, loader, {
    packMode,
    fullHead,
    progress: options.progress ?? false,
    label: "eval",
    signal: options.signal,
  });
}
