/**
 * From a corpus file to tokenized training and validation splits, the tutorial's data preparation:
 * read the sentences (unique, non-empty), train or load the tokenizer (on all unique sentences),
 * sample and split with a seed, tokenize each split once (cached on disk).
 */
import type { TrainConfig } from "../config/index.js";
import { Tokenizer, trainBpe } from "../tokenizer/index.js";
import { loadOrBuildTokenized, tokenizeSteps, type TokenizedSplit } from "./cache.js";
import { describeCorpusStats, readCorpus, type CorpusStats } from "./corpus.js";
import { MlmDataLoader } from "./loader.js";
import { bundledCorpusPath } from "./paths.js";
import { sampleAndSplit } from "./split.js";
import type { InMemoryCorpus } from "./text-corpus.js";
import { runCooperatively } from "../util/cooperative.js";
import { sha256Hex } from "../util/sha256.js";

/** A run's tokenizer and tokenized splits, with what reading the corpus found. */
export interface PreparedData {
  tokenizer: Tokenizer;
  /** Whether the tokenizer was trained in this call (false: loaded from a file). */
  tokenizerTrained: boolean;
  train: TokenizedSplit;
  valid: TokenizedSplit;
  corpus: CorpusStats;
}

/** Ids the masking never touches: the tokens the post-processor adds, padding and [MASK] itself. */
export function neverMaskedIds(tokenizer: Tokenizer): number[] {
  return ["[PAD]", "[CLS]", "[SEP]", "[MASK]"].map((t) => requireToken(tokenizer, t));
}

/** The id of a special token the project needs; throws a one-line error when the tokenizer lacks it. */
export function requireToken(tokenizer: Tokenizer, token: string): number {
  const id = tokenizer.tokenToId(token);
  if (id === undefined)
    throw new Error(
      `the tokenizer has no ${token} token (expected the tutorial's special tokens [PAD] [CLS] [SEP] [MASK] [UNK])`,
    );
  return id;
}

/**
 * Prepares the data of a run. `tokenizer` overrides config.tokenizer (used when resuming, with the
 * run's own tokenizer.json). `corpus`, sentences already in memory (a browser tab's), replaces reading
 * config.data, and its splits are tokenized without the disk cache. Reading, tokenizer training and
 * tokenizing pause for the event loop about every 50 ms and stop, throwing the signal's reason, once
 * `signal` is aborted.
 */
export async function prepareData(
  config: TrainConfig,
  log: (line: string) => void,
  tokenizer?: Tokenizer,
  signal?: AbortSignal,
  corpus?: InMemoryCorpus,
): Promise<PreparedData> {
  const corpusPath = corpus?.name ?? config.data ?? bundledCorpusPath();
  const { sentences, stats } =
    corpus ??
    (await readCorpus(corpusPath, {
      format: config.format,
      textField: config.textField,
      maxLineBytes: config.maxLineBytes,
      maxBytes: config.maxCorpusBytes,
      signal,
    }));
  log(describeCorpusStats(stats));
  if (sentences.length < 2)
    throw new Error(
      `${corpusPath}: needs at least 2 unique sentences to make a training and a validation split, found ${sentences.length}`,
    );

  let tok = tokenizer;
  let trained = false;
  if (tok === undefined && config.tokenizer !== null) {
    tok = Tokenizer.load(config.tokenizer);
    log(`tokenizer: loaded ${config.tokenizer} (${tok.vocabSize} tokens)`);
  }
  if (tok === undefined) {
    // The tutorial trains its tokenizer on every unique sentence, not only on the sample.
    tok = await trainBpe(
      sentences.values(),
      {
        vocabSize: config.vocabSize,
        minFrequency: config.minFrequency,
        maxLength: config.maxLen,
        showProgress: config.progress,
      },
      { signal },
    );
    trained = true;
    log(`tokenizer: trained BPE on ${sentences.length} sentences, ${tok.vocabSize} tokens`);
  }
  tok.setTruncation(config.maxLen);
  for (const t of ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]) requireToken(tok, t);

  const { train, valid } = sampleAndSplit(sentences, {
    sample: config.sample,
    trainFraction: config.trainFraction,
    seed: config.dataSeed,
  });
  if (train.length === 0 || valid.length === 0) {
    throw new Error(
      `sample ${config.sample} of ${sentences.length} sentences gives ${train.length} training and ${valid.length} ` +
        `validation sentences; both must be non-empty (raise --sample)`,
    );
  }
  log(
    `split: ${train.length} training and ${valid.length} validation sentences (sample ${config.sample}` +
      `${config.data === null && config.sample < 1 ? ": the tutorial's share of the bundled corpus, --sample 1 for all of it" : ""}` +
      `, seed ${config.dataSeed})`,
  );

  const fingerprint = sha256Hex(tok.toString());
  const encode = (text: string): Int32Array => tok.encodeIds(text);
  const common = {
    encode,
    fingerprint,
    maxLen: config.maxLen,
    cacheDir: config.cacheDir,
    progress: config.progress,
    log,
    signal,
  };
  // Each split from the disk cache, or tokenized in memory (a corpus held in memory has no cache).
  const tokenized = async (
    sentences: string[],
    name: "train" | "valid",
  ): Promise<{ split: TokenizedSplit; from: string }> => {
    const label = `tokenize ${name}`;
    if (corpus !== undefined) {
      const steps = tokenizeSteps(sentences, encode, { maxLen: config.maxLen, label, progress: config.progress });
      return { split: await runCooperatively(steps, { signal }), from: "tokenized in memory" };
    }
    const r = await loadOrBuildTokenized({ ...common, sentences, name, label });
    return { split: r.split, from: `${r.fromCache ? "from cache" : "tokenized"} (${r.path})` };
  };
  const trainSplit = await tokenized(train, "train");
  const validSplit = await tokenized(valid, "valid");
  for (const [name, r] of [
    ["train", trainSplit],
    ["valid", validSplit],
  ] as const) {
    log(`dataset ${name}: ${r.split.count} sentences, ${r.split.offsets[r.split.count]} tokens, ${r.from}`);
  }
  return { tokenizer: tok, tokenizerTrained: trained, train: trainSplit.split, valid: validSplit.split, corpus: stats };
}

/**
 * The training and validation loaders of a run: the configured batches and masking; validation
 * never shuffled and masked with fixed, seeded masks so that every evaluation scores the same tokens.
 * The batches are packed as the model runs them: padding rows dropped, or kept with --compute-padding.
 */
export function runLoaders(
  config: TrainConfig,
  tokenizer: Tokenizer,
  train: TokenizedSplit,
  valid: TokenizedSplit,
): { train: MlmDataLoader; valid: MlmDataLoader } {
  const options = {
    batchSize: config.batchSize,
    padding: config.padToMax ? ("max" as const) : ("longest" as const),
    pack: config.computePadding ? ("padded" as const) : ("unpadded" as const),
    maxLen: config.maxLen,
    seed: config.seed,
    mask: {
      probability: config.maskProb,
      maskTokenRate: config.maskTokenRate,
      randomTokenRate: config.randomTokenRate,
    },
    padId: requireToken(tokenizer, "[PAD]"),
    maskId: requireToken(tokenizer, "[MASK]"),
    vocabSize: tokenizer.vocabSize,
    isSpecial: neverMaskedIds(tokenizer),
  };
  return {
    train: new MlmDataLoader(train, {
      ...options,
      shuffle: config.shuffle,
      mask: { ...options.mask, probability: config.trainMaskProb ?? config.maskProb },
    }),
    valid: new MlmDataLoader(valid, {
      ...options,
      batchSize: config.evalBatchSize ?? config.batchSize,
      shuffle: false,
      fixedMasks: true,
    }),
  };
}
