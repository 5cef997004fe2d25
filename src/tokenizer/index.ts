/**
 * BPE tokenizer: training (as Hugging Face's `BpeTrainer`), encoding, decoding, tokenizer.json.
 *
 * @example
 *   import { trainBpe, Tokenizer } from "mlm-ts/tokenizer";
 *   const tok = await trainBpe("data/tatoeba-en.txt");   // the tutorial's recipe
 *   tok.save("runs/tokenizer.json");
 *   Tokenizer.load("runs/tokenizer.json").encode("I like [MASK].").ids;
 */
export { trainBpe, trainBpeFromSentences, buildConfig } from "./train.js";
export type { TrainInput } from "./train.js";
export { TUTORIAL_TOKENIZER, RUST_DEFAULT_TRAINER, TOKENIZER_STYLES, resolveTrainOptions } from "./options.js";
export type { BpeTrainOptions, TokenizerStyle } from "./options.js";
export { Tokenizer } from "./tokenizer.js";
export type { Encoding, DecodeOptions } from "./tokenizer.js";
export type { TokenizerConfig, AddedToken, TemplateToken } from "./tokenizer-json.js";
export { learnBpe, learnBpeSteps, computeAlphabet } from "./bpe-trainer.js";
export type { BpeVocabulary, MergeLoopOptions } from "./bpe-trainer.js";
export { WordCounter } from "./word-counts.js";
export { CorpusError, forEachLineChunk } from "../util/lines.js";
export { preTokenize, scanPreTokens, normalize, lowercase } from "./pretokenize.js";
export type { NormalizerConfig, PreTokenizerKind } from "./pretokenize.js";
