/**
 * Options of the BPE trainer and of the tokenizer it builds, with the tutorial's recipe as defaults.
 */
import { DEFAULT_MAX_LINE_BYTES } from "../util/lines.js";
import type { PreTokenizerKind } from "./pretokenize.js";
import { DEFAULT_CONFIG } from "../config/table.js";

/** Everything `trainBpe` needs: the trainer's settings (as in HF `BpeTrainer`) and the pipeline around it. */
export interface BpeTrainOptions {
  /** Stop when the vocabulary (special tokens + alphabet + merges) reaches this size. */
  vocabSize: number;
  /** Stop merging when the most frequent pair occurs fewer times than this. */
  minFrequency: number;
  /** Special tokens, in order; they take the first ids. */
  specialTokens: string[];
  /** Token for characters missing from the vocabulary (must be one of the special tokens), or null. */
  unkToken: string | null;
  /** Prefix of every non-initial piece of a word ("##"), or null. */
  continuingSubwordPrefix: string | null;
  /** Suffix of every word-final piece ("</w>"), or null. */
  endOfWordSuffix: string | null;
  /** Keep at most this many characters in the alphabet (the most frequent ones), or null for all. */
  limitAlphabet: number | null;
  /** Characters always in the alphabet, even when absent from the corpus. */
  initialAlphabet: string[];
  /** Draw progress bars while counting and merging. */
  showProgress: boolean;
  /** Normalizers, applied in this order: NFKC, lowercase, strip accents. */
  nfkc: boolean;
  lowercase: boolean;
  stripAccents: boolean;
  /** "whitespace" = `\w+|[^\w\s]+` (Unicode), "whitespace-split" = split on spaces only. */
  preTokenizer: PreTokenizerKind;
  /** Tokens put around each sentence by the post-processor (`[CLS] ... [SEP]`), or null for none. */
  clsToken: string | null;
  sepToken: string | null;
  /** Truncate encodings to this many tokens (special tokens included), or null for no truncation. */
  maxLength: number | null;
  /** Padding: null (none), "longest" (to the longest in a batch) or a fixed length. */
  padding: null | "longest" | number;
  /** Token used for padding (must be a special token). */
  padToken: string;
  /** Longest line read from a file, in bytes: a longer one is an error naming the file and line. */
  maxLineBytes: number;
}

/**
 * The tutorial's tokenizer: lowercase, whitespace pre-tokenizer, min frequency 2, `##` prefix,
 * `[PAD] [CLS] [SEP] [MASK] [UNK]` at ids 0..4, vocab 25000, `[CLS] … [SEP]`, truncation to 128.
 * Padding is off (the project pads each batch to its longest sentence); set `padding: 128` for the
 * tutorial's fixed padding.
 */
export const TUTORIAL_TOKENIZER: Readonly<BpeTrainOptions> = Object.freeze({
  vocabSize: DEFAULT_CONFIG.vocabSize,
  minFrequency: DEFAULT_CONFIG.minFrequency,
  specialTokens: ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"],
  unkToken: "[UNK]",
  continuingSubwordPrefix: "##",
  endOfWordSuffix: null,
  limitAlphabet: null,
  initialAlphabet: [],
  showProgress: false,
  nfkc: false,
  lowercase: true,
  stripAccents: false,
  preTokenizer: "whitespace",
  clsToken: "[CLS]",
  sepToken: "[SEP]",
  maxLength: DEFAULT_CONFIG.maxLen,
  padding: null,
  padToken: "[PAD]",
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
});

/**
 * The trainer options of each `tokenizerStyle` of the training configuration, over the tutorial's.
 * "end-of-word" marks a word's last piece with `</w>` (the BPE model's `end_of_word_suffix`, decoded by
 * a `BPEDecoder`) instead of prefixing the others with `##`, which JavaScript BPE models do not read,
 * and cuts words at spaces only, so that the decoder, which puts a space after each `</w>`, gives back
 * the normalized text.
 */
export const TOKENIZER_STYLES: Readonly<Record<TokenizerStyle, Readonly<Partial<BpeTrainOptions>>>> = {
  tutorial: {},
  "end-of-word": { continuingSubwordPrefix: null, endOfWordSuffix: "</w>", preTokenizer: "whitespace-split" },
};

/** The values of the training configuration's `tokenizerStyle`. */
export type TokenizerStyle = "tutorial" | "end-of-word";

/**
 * Hugging Face's `BpeTrainer::default()` behind a plain whitespace pre-tokenizer: vocab 30000,
 * min frequency 0, no special tokens, no prefix, no normalizer, no post-processor.
 */
export const RUST_DEFAULT_TRAINER: Readonly<BpeTrainOptions> = Object.freeze({
  ...TUTORIAL_TOKENIZER,
  vocabSize: 30000,
  minFrequency: 0,
  specialTokens: [],
  unkToken: null,
  continuingSubwordPrefix: null,
  lowercase: false,
  clsToken: null,
  sepToken: null,
  maxLength: null,
  padToken: "[PAD]",
});

/** Fills unset options from the tutorial defaults and checks them; throws a one-line error on bad values. */
export function resolveTrainOptions(options: Partial<BpeTrainOptions> = {}): BpeTrainOptions {
  const o: BpeTrainOptions = { ...TUTORIAL_TOKENIZER, ...stripUndefined(options) };
  const intAtLeast = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min)
      throw new Error(`tokenizer option ${name}: expected an integer >= ${min}, got ${v}`);
  };
  intAtLeast("vocabSize", o.vocabSize, 1);
  intAtLeast("minFrequency", o.minFrequency, 0);
  if (o.limitAlphabet !== null) intAtLeast("limitAlphabet", o.limitAlphabet, 0);
  if (o.maxLength !== null) intAtLeast("maxLength", o.maxLength, 1);
  if (typeof o.padding === "number") intAtLeast("padding", o.padding, 1);
  intAtLeast("maxLineBytes", o.maxLineBytes, 1);
  if (new Set(o.specialTokens).size !== o.specialTokens.length)
    throw new Error("tokenizer option specialTokens: duplicate token");
  for (const [name, tok] of [
    ["unkToken", o.unkToken],
    ["clsToken", o.clsToken],
    ["sepToken", o.sepToken],
  ] as const) {
    if (tok !== null && !o.specialTokens.includes(tok))
      throw new Error(`tokenizer option ${name}: "${tok}" is not among the special tokens`);
  }
  if (o.padding !== null && !o.specialTokens.includes(o.padToken)) {
    throw new Error(`tokenizer option padToken: "${o.padToken}" is not among the special tokens`);
  }
  if ((o.clsToken === null) !== (o.sepToken === null))
    throw new Error("tokenizer options clsToken and sepToken: set both or neither");
  if (o.preTokenizer !== "whitespace" && o.preTokenizer !== "whitespace-split") {
    throw new Error(
      `tokenizer option preTokenizer: expected "whitespace" or "whitespace-split", got "${String(o.preTokenizer)}"`,
    );
  }
  for (const c of o.initialAlphabet) {
    if ([...c].length !== 1) throw new Error(`tokenizer option initialAlphabet: "${c}" is not a single character`);
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
