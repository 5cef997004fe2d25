/**
 * `trainBpe`: counts words of a corpus (files streamed in chunks, or sentences in memory), learns the
 * BPE merges and wraps them into a ready `Tokenizer` with the configured pipeline.
 */
import { Pacer, runCooperatively, runToEnd, type Interruptible } from "../util/cooperative.js";
import { createProgress } from "../util/progress.js";
import { learnBpeSteps } from "./bpe-trainer.js";
import { resolveTrainOptions } from "./options.js";
import type { BpeTrainOptions } from "./options.js";
import { CorpusError } from "../util/lines.js";
import { Tokenizer } from "./tokenizer.js";
import type { TokenizerConfig } from "./tokenizer-json.js";
import { WordCounter } from "./word-counts.js";

/** What to train on: a file path, a list of file paths (plain text, one sentence per line), or sentences. */
export type TrainInput = string | readonly string[] | Iterable<string> | AsyncIterable<string>;

/**
 * Trains a BPE tokenizer. Options default to the tutorial's recipe (`TUTORIAL_TOKENIZER`).
 * A string or an array of strings names files; any other iterable yields sentences (an array of
 * sentences is passed as `array.values()`). The work pauses for the event loop about every 50 ms
 * and stops, throwing the signal's reason, once `control.signal` is aborted.
 *
 * @example
 *   const tok = await trainBpe("data/tatoeba-en.txt");               // tutorial settings
 *   const small = await trainBpe(new Set(["a cat", "a hat"]), { vocabSize: 50, minFrequency: 1 });
 *   tok.save("runs/tokenizer.json");
 */
export async function trainBpe(
  input: TrainInput,
  options: Partial<BpeTrainOptions> = {},
  control: { signal?: AbortSignal } = {},
): Promise<Tokenizer> {
  const o = resolveTrainOptions(options);
  const counter = newCounter(o);
  const { signal } = control;
  if (typeof input === "string" || Array.isArray(input)) {
    const files = typeof input === "string" ? [input] : (input as readonly string[]);
    if (files.length === 0) throw new CorpusError("tokenizer training: no input file given");
    for (const f of files) {
      const bar = createProgress({ label: `count words ${f}`, total: 0, silent: !o.showProgress });
      await runCooperatively(counter.addFileSteps(f, bar, o.maxLineBytes), { signal });
      bar.stop();
    }
  } else if (Symbol.asyncIterator in (input as object)) {
    const pacer = new Pacer(signal);
    for await (const s of input as AsyncIterable<string>) {
      counter.add(s);
      if (pacer.due()) await pacer.pause();
    }
  } else {
    await runCooperatively(counter.addAllSteps(input as Iterable<string>), { signal });
  }
  return runCooperatively(finishTraining(counter, o), { signal });
}

/**
 * Synchronous variant for sentences already in memory.
 *
 * @example
 *   const tok = trainBpeFromSentences(["the cat sat", "the hat"], { vocabSize: 40, minFrequency: 1 });
 */
export function trainBpeFromSentences(sentences: Iterable<string>, options: Partial<BpeTrainOptions> = {}): Tokenizer {
  const o = resolveTrainOptions(options);
  const counter = newCounter(o);
  for (const s of sentences) counter.add(s);
  return runToEnd(finishTraining(counter, o));
}

function newCounter(o: BpeTrainOptions): WordCounter {
  return new WordCounter({ nfkc: o.nfkc, lowercase: o.lowercase, stripAccents: o.stripAccents }, o.preTokenizer);
}

/** Learns the merges of the counted words and builds the tokenizer (interruptible work). */
function* finishTraining(counter: WordCounter, o: BpeTrainOptions): Interruptible<Tokenizer> {
  if (counter.counts.size === 0)
    throw new CorpusError("tokenizer training: no usable text (no word found in the input)");
  const bar = createProgress({ label: "compute merges", total: o.vocabSize, silent: !o.showProgress });
  const { vocab, merges } = yield* learnBpeSteps(counter.counts, o, bar);
  bar.stop();
  return Tokenizer.fromConfig(buildConfig(vocab, merges, o));
}

/** Assembles the tokenizer pipeline around a learned vocabulary. */
export function buildConfig(vocab: string[], merges: [string, string][], o: BpeTrainOptions): TokenizerConfig {
  const idOf = new Map(vocab.map((t, i) => [t, i]));
  const id = (t: string): number => idOf.get(t) as number;
  return {
    normalizer: { nfkc: o.nfkc, lowercase: o.lowercase, stripAccents: o.stripAccents },
    preTokenizer: o.preTokenizer,
    vocab,
    merges,
    unkToken: o.unkToken,
    continuingSubwordPrefix: o.continuingSubwordPrefix,
    endOfWordSuffix: o.endOfWordSuffix,
    addedTokens: o.specialTokens.map((t) => ({ id: id(t), content: t, special: true })),
    template:
      o.clsToken !== null && o.sepToken !== null
        ? { cls: { token: o.clsToken, id: id(o.clsToken) }, sep: { token: o.sepToken, id: id(o.sepToken) } }
        : null,
    maxLength: o.maxLength,
    padding: o.padding === null ? null : { length: o.padding, padId: id(o.padToken), padToken: o.padToken },
    decoder:
      o.continuingSubwordPrefix !== null
        ? { type: "wordpiece", prefix: o.continuingSubwordPrefix, cleanup: true }
        : o.endOfWordSuffix !== null
          ? { type: "bpe", suffix: o.endOfWordSuffix }
          : null,
  };
}
