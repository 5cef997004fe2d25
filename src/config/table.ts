/**
 * The one training configuration: every setting declared once, with its default, kind, range and help.
 * The type `TrainConfig`, the defaults, the `mlm train` flags, the checks of a `--config` JSON file and
 * the help text are all derived from this table, and so is the model's shape (`ModelConfig`, a subset).
 * Every default is the value of the tutorial "Training your First Language Model" (JAX/Haiku) unless
 * its comment says why not; code elsewhere reads defaults from here (`DEFAULT_CONFIG`) instead of
 * repeating them.
 *
 * @example
 *   CONFIG_TABLE.batchSize;   // { kind: "int", default: 64, min: 1, help: "sentences per batch" }
 *   DEFAULT_CONFIG.maskProb;  // 0.15
 */
import { DEFAULT_MAX_LINE_BYTES } from "../util/lines.js";
import { RECIPE_NAMES } from "./recipes.js";
import { defaultsOf, keysOf, type FieldTable, type ValuesOf } from "./fields.js";

const RECIPE = {
  /** Applied over these defaults, under a --config file and flags; see recipes.ts. */
  recipe: {
    kind: "choice",
    choices: RECIPE_NAMES,
    default: "tutorial",
    help: "named set of settings (tutorial: the defaults below)",
  },
} as const satisfies FieldTable;

const DATA = {
  /**
   * TSV (id_it, sent_it, id_en, sent_en), plain text or JSON lines, each maybe gzipped; a folder or a
   * glob reads every file it names (see `stream`); null = the bundled Tatoeba English.
   */
  data: {
    kind: "path",
    default: null,
    none: "bundled Tatoeba English",
    help: "corpus file, folder or glob (.tsv, .txt, .jsonl; .gz too)",
  },
  /** "auto" decides from the extension and the content. */
  format: { kind: "choice", choices: ["auto", "tsv", "txt", "jsonl"], default: "auto", help: "corpus format" },
  textField: { kind: "string", default: "text", placeholder: "NAME", help: "JSON-lines field holding the text" },
  /**
   * The tutorial samples 5% of the bundled corpus's unique sentences to keep training short. A corpus of
   * the user's own is used whole unless this is given (resolveConfig): dropping 95% of someone's data
   * without a word would be a trap.
   */
  sample: {
    kind: "number",
    default: 0.05,
    above: 0,
    max: 1,
    help: "fraction of unique sentences used (your own corpus: 1 unless given)",
  },
  /** The rest of the sample is the validation split. */
  trainFraction: { kind: "number", default: 0.8, above: 0, max: 1, help: "training share of the sample" },
  /** The tutorial's random_state. */
  dataSeed: { kind: "int", default: 42, min: 0, help: "seed of sampling and splitting" },
  /** null = train one with the tutorial's recipe on all unique sentences. */
  tokenizer: { kind: "path", default: null, none: "train one", help: "existing tokenizer.json" },
  /** The BPE trainer's target; the model's vocabulary is the trained tokenizer's (it may stop short). */
  vocabSize: { kind: "int", default: 25000, min: 6, help: "BPE vocabulary size" },
  minFrequency: { kind: "int", default: 2, min: 0, help: "BPE minimum pair frequency" },
  /**
   * How the trained tokenizer marks word pieces. "tutorial": the tutorial's `##` continuing-subword
   * prefix, words cut at punctuation; JavaScript tokenizers (transformers.js, @huggingface/tokenizers)
   * ignore that prefix in a BPE model and encode words differently. "end-of-word": a `</w>` suffix on
   * each word's last piece, words cut at spaces only, and its decoder: read exactly by transformers.js,
   * @huggingface/tokenizers and Rust's tokenizers, and decoding gives the (lowercased) text back.
   */
  tokenizerStyle: {
    kind: "choice",
    choices: ["tutorial", "end-of-word"],
    default: "tutorial",
    help: "BPE pieces: tutorial (## prefix) or end-of-word (</w> suffix; JavaScript tokenizers read it exactly)",
  },
  /** Longer sentences are truncated; also the rows of the positional table. */
  maxLen: { kind: "int", default: 128, min: 3, max: 4096, help: "max tokens per sequence incl. [CLS]/[SEP]" },
  /** Also holds the corpus fingerprints (size and SHA-256, rehashed when the mtime changes). */
  cacheDir: { kind: "path", default: ".cache/mlm-ts", help: "cache of tokenized splits" },
  /** 1 MiB: far above a sentence, and memory stays bounded on any input (an endless line is an error). */
  maxLineBytes: {
    kind: "int",
    default: DEFAULT_MAX_LINE_BYTES,
    min: 1,
    max: 268435456,
    help: "longest corpus line accepted, in bytes",
  },
  /**
   * An opt-in guard (null: none): a streamed corpus needs memory for its sampled sentences' hashes only,
   * whatever its size; a corpus read into memory (`stream` no, or auto on a small file) about 10 times its size.
   */
  maxCorpusBytes: {
    kind: "int",
    default: null,
    nullable: true,
    none: "no limit",
    min: 1,
    help: "refuse a corpus larger than this, in bytes",
  },
  /**
   * A single plain file: "auto" streams it into an on-disk token cache (sampled by sentence hash) when
   * it is over 64 MiB, else reads it into memory (the tutorial's exact sample). A folder, a glob and a
   * .gz file always stream.
   */
  stream: {
    kind: "choice",
    choices: ["auto", "yes", "no"],
    default: "auto",
    help: "stream the corpus into an on-disk token cache",
  },
} as const satisfies FieldTable;

/** The dropout rate of one place; null (the default) takes `dropout`'s. */
const placeDropout = (where: string) =>
  ({
    kind: "number",
    default: null,
    nullable: true,
    none: "dropout",
    min: 0,
    max: 0.99,
    help: `dropout on the ${where}`,
  }) as const;

const MODEL = {
  /** d_model: the width of every token vector; even, for the sinusoidal positional encoding. */
  dModel: { kind: "int", default: 128, min: 1, help: "model width (even, a multiple of num-heads)" },
  numLayers: { kind: "int", default: 6, min: 1, help: "encoder blocks" },
  numHeads: { kind: "int", default: 8, min: 1, help: "attention heads" },
  /** d_ff: the hidden width of the feed-forward sub-layer. */
  dFF: { kind: "int", default: 256, min: 1, help: "feed-forward width" },
  /** On embeddings, attention output, FFN hidden and FFN output, in training only (each place can differ). */
  dropout: { kind: "number", default: 0.1, min: 0, max: 0.99, help: "dropout probability" },
  dropoutEmbedding: placeDropout("embedding output"),
  dropoutAttention: placeDropout("attention output"),
  dropoutHidden: placeDropout("feed-forward hidden units"),
  dropoutResidual: placeDropout("feed-forward output"),
  /** Inside the square root, as Haiku's LayerNorm. */
  lnEps: { kind: "number", default: 1e-5, above: 0, help: "layer-norm epsilon" },
  /**
   * Haiku's embedding init (std 1); times sqrt(dModel) in the forward that gives token vectors of
   * std ~11, which drown the sinusoidal positions (|PE| <= 1). 1/sqrt(dModel) puts them on one scale.
   */
  embedInitStd: { kind: "number", default: 1, above: 0, help: "std of the embedding's initial values" },
  /**
   * "sinusoidal": the tutorial's table; "scaled-sinusoidal": the same times sqrt(dModel), the scale of
   * the tutorial's token vectors; "learned": a trained table, starting from the sinusoid.
   */
  positions: {
    kind: "choice",
    choices: ["sinusoidal", "scaled-sinusoidal", "learned"],
    default: "sinusoidal",
    help: "positional encoding",
  },
  /**
   * "scaled": token vectors times sqrt(dModel), plus the positions (the tutorial's); "layernorm": BERT's,
   * LayerNorm(token + position) with a scale and offset of its own (embed.ln), no sqrt(dModel) factor.
   */
  embedding: {
    kind: "choice",
    choices: ["scaled", "layernorm"],
    default: "scaled",
    help: "embedding: times sqrt(dModel), or BERT's LayerNorm of token + position",
  },
  /** "post": LayerNorm after each residual sum (the tutorial); "pre": before each sub-layer, plus a final one. */
  norm: { kind: "choice", choices: ["post", "pre"], default: "post", help: "layer-norm placement" },
  /** In the feed-forward sub-layers and the head's dense layer; GELU is tanh-approximated as in BERT. */
  activation: { kind: "choice", choices: ["relu", "gelu"], default: "relu", help: "activation function" },
  /** The output layer's weight is the embedding's (transposed), with a bias of its own. */
  tieOutput: { kind: "boolean", default: false, help: "tie the output layer to the embedding" },
} as const satisfies FieldTable;

const BATCHES = {
  batchSize: { kind: "int", default: 64, min: 1, help: "sentences per batch" },
  /**
   * Validation batches' size (null: batchSize's). Validation masks are drawn per batch, so a recipe that
   * trains on other batch sizes keeps 64 here to score the tutorial's masks.
   */
  evalBatchSize: {
    kind: "int",
    default: null,
    nullable: true,
    none: "batch-size",
    min: 1,
    help: "sentences per validation batch",
  },
  /**
   * Validation sentences scored at each evaluation, as the first whole validation batches of the seeded
   * split (so their masks are those of an evaluation of every sentence); 0 scores all. The tutorial's 5%
   * of the bundled corpus has 653 validation sentences, all scored; --sample 1 has 13,049, which would
   * take a minute per evaluation on a busy 2-core machine.
   */
  evalSentences: {
    kind: "int",
    default: 2048,
    min: 0,
    help: "validation sentences scored at each evaluation (0: all of them)",
  },
  /** The tutorial pads to 128; padding to the longest sentence gives the same losses far faster. */
  padToMax: { kind: "boolean", default: false, help: "pad every batch to max-len (the tutorial's way)" },
  /** The tutorial's loader does not shuffle. */
  shuffle: { kind: "boolean", default: false, help: "shuffle training sentences every epoch" },
  /** Probability that a non-special token is selected for prediction. */
  maskProb: { kind: "number", default: 0.15, above: 0, max: 1, help: "probability a token is selected" },
  /**
   * The training batches' own selection rate (null: maskProb's). Validation keeps maskProb, so runs
   * that train with more masks still score the same validation masks.
   */
  trainMaskProb: {
    kind: "number",
    default: null,
    nullable: true,
    none: "mask-prob",
    above: 0,
    max: 1,
    help: "probability a token is selected in training batches",
  },
  /** 1 = the tutorial; BERT uses 0.8. */
  maskTokenRate: { kind: "number", default: 1, min: 0, max: 1, help: "selected tokens replaced by [MASK]" },
  /** 0 = the tutorial; BERT uses 0.1. */
  randomTokenRate: { kind: "number", default: 0, min: 0, max: 1, help: "selected tokens replaced by a random token" },
  /** Same loss and gradients as the tutorial's full head, a fraction of the work. */
  fullHead: { kind: "boolean", default: false, help: "vocabulary projection at every position (tutorial's way)" },
  /** Same results at real tokens; padding rows are skipped. */
  computePadding: { kind: "boolean", default: false, help: "compute padding rows too (tutorial's way)" },
} as const satisfies FieldTable;

const OPTIMIZER = {
  learningRate: { kind: "number", default: 3e-4, above: 0, help: "peak learning rate" },
  /** optax.clip_by_global_norm. */
  gradClip: { kind: "number", default: 1, above: 0, help: "global gradient-norm clip" },
  beta1: { kind: "number", default: 0.9, min: 0, max: 0.999999, help: "Adam beta1" },
  beta2: { kind: "number", default: 0.999, min: 0, max: 0.999999, help: "Adam beta2" },
  adamEps: { kind: "number", default: 1e-8, above: 0, help: "Adam epsilon" },
  /** Decoupled (AdamW) decay on matrices; 0 = plain Adam, the tutorial's. */
  weightDecay: { kind: "number", default: 0, min: 0, help: "AdamW weight decay on matrices" },
  /** After warmup: constant (the tutorial), or linear or cosine decay to 0. */
  lrSchedule: {
    kind: "choice",
    choices: ["constant", "linear", "cosine"],
    default: "constant",
    help: "decay after warmup",
  },
  /** Linear warmup from 0 to learningRate. */
  warmupSteps: { kind: "int", default: 0, min: 0, help: "linear warmup steps" },
  /** Gradients of this many micro-batches are summed before one optimizer step. */
  gradAccumSteps: { kind: "int", default: 1, min: 1, help: "micro-batches per optimizer step" },
} as const satisfies FieldTable;

const LOOP = {
  epochs: { kind: "int", default: 30, min: 1, help: "passes over the training split" },
  maxSteps: { kind: "int", default: 0, min: 0, help: "stop after this many steps (0: run all epochs)" },
  /**
   * Wall time from the command's start to its exit ("10m", "1h", "90s"): after timing 50 steps the run
   * fixes its number of steps (budgetSteps) so that the schedule, the evaluations and the last
   * checkpoint end inside it, and plans again along the way as the machine's speed drifts (see
   * src/train/time-budget.ts). epochs and maxSteps still cap the steps.
   */
  timeBudget: {
    kind: "string",
    default: null,
    none: "none",
    placeholder: "DURATION",
    help: "wall time for the whole run, e.g. 10m",
  },
  /** Written by the run once --time-budget has fixed it (and at each later plan); --resume reuses it. 0: not fixed. */
  budgetSteps: { kind: "int", default: 0, min: 0, help: "steps fixed by --time-budget (0: none yet)" },
  /** Each evaluation scores the whole validation split. */
  evalSteps: { kind: "int", default: 500, min: 1, help: "steps between evaluations" },
  logSteps: { kind: "int", default: 200, min: 1, help: "steps between training-loss logs" },
  /** Gives the step-0 validation loss. */
  evalAtStart: { kind: "boolean", default: true, help: "evaluate once before training" },
  earlyStopping: { kind: "int", default: 0, min: 0, help: "evaluations without improvement before stopping (0: off)" },
  /** Latest checkpoints kept besides the best one, for --resume. */
  keepLast: { kind: "int", default: 1, min: 0, help: "latest checkpoints kept for --resume" },
  /** Not in the tutorial: a kill or a crash loses at most 1,000 steps or 10 minutes of training. */
  saveSteps: {
    kind: "int",
    default: 1000,
    min: 0,
    help: "steps between latest checkpoints, evaluations aside (0: off)",
  },
  saveMinutes: {
    kind: "number",
    default: 10,
    min: 0,
    help: "minutes without a latest checkpoint before one (0: off)",
  },
  seed: { kind: "int", default: 0, min: 0, help: "seed of initialisation, dropout and masks" },
} as const satisfies FieldTable;

const SYSTEM = {
  outDir: { kind: "path", default: null, none: "runs/<date-time>", help: "run directory" },
  /**
   * "wasm": SIMD on all cores; "ts": the plain TypeScript reference; "webgpu": the GPU (Node: needs the
   * optional npm package webgpu; src/engine/create.ts's BACKENDS, which the types hold equal).
   */
  backend: {
    kind: "choice",
    choices: ["wasm", "ts", "webgpu"],
    default: "wasm",
    help: "kernels: wasm (fast), ts (reference) or webgpu (a GPU; in Node: npm install webgpu)",
  },
  // max: the wasm backend's MAX_THREADS (src/engine/wasm/layout.ts; test/cli/small-faults.test.ts holds them equal)
  threads: { kind: "int", default: 0, min: 0, max: 64, help: "kernel threads (0: one per core)" },
  progress: {
    kind: "boolean",
    default: false,
    help: "progress bars and log lines on stderr (the library is silent unless asked)",
  },
} as const satisfies FieldTable;

/** The table in sections, for --help. */
export const CONFIG_SECTIONS = [
  { title: "Recipe", fields: RECIPE },
  { title: "Data and tokenizer", fields: DATA },
  { title: "Model", fields: MODEL },
  { title: "Batches and masking", fields: BATCHES },
  { title: "Optimizer", fields: OPTIMIZER },
  { title: "Training loop", fields: LOOP },
  { title: "System", fields: SYSTEM },
] as const;

/** Every setting of a run. */
export const CONFIG_TABLE = { ...RECIPE, ...DATA, ...MODEL, ...BATCHES, ...OPTIMIZER, ...LOOP, ...SYSTEM } as const;

/** A run's complete settings (a JSON file or `resolveConfig` gives them). */
export type TrainConfig = ValuesOf<typeof CONFIG_TABLE>;

/** The defaults: the tutorial's values, except where the table's comments say why not. */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = Object.freeze(defaultsOf(CONFIG_TABLE));

/** Names of all configuration keys, in declaration order. */
export const CONFIG_KEYS: readonly (keyof TrainConfig)[] = keysOf(CONFIG_TABLE);
