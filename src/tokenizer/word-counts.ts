/**
 * Word counting, the first pass of BPE training: normalize each sentence, pre-tokenize it, and count
 * the words in a Map. Memory grows with the number of distinct words, not with the corpus, since
 * sentences are read in chunks and dropped after counting.
 */
import { isIdentityNormalizer, normalize, scanPreTokens } from "./pretokenize.js";
import type { NormalizerConfig, PreTokenizerKind } from "./pretokenize.js";
import { runToEnd, type Interruptible } from "../util/cooperative.js";
import { CorpusError, lineChunks } from "../util/lines.js";
import { statSync } from "node:fs";
import type { Progress } from "../util/progress.js";

/** Counts words of sentences; `counts` keeps the first-seen order of words (Map insertion order). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  /** Sentences seen. */
  sentences = 0;
  private readonly identity: boolean;
  /** Reused pre-token boundaries. */
  private readonly bounds: number[] = [];

  constructor(
    private readonly normalizer: NormalizerConfig,
    private readonly preTokenizer: PreTokenizerKind,
  ) {
    this.identity = isIdentityNormalizer(normalizer);
  }

  /** Adds the words of one sentence; returns how many words it had. */
  add(sentence: string): number {
    const text = this.identity ? sentence : normalize(sentence, this.normalizer);
    const counts = this.counts;
    const b = this.bounds;
    const n = scanPreTokens(text, this.preTokenizer, b);
    for (let t = 0; t < n; t++) {
      const w = text.slice(b[2 * t], b[2 * t + 1]);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    this.sentences++;
    return n;
  }

  /**
   * Adds every line of a plain-text file (one sentence per line). Throws a one-line `CorpusError`
   * naming the file when it is missing, not UTF-8, holds no word at all, or a line longer than
   * `maxLineBytes` (naming that line).
   */
  addFile(path: string, progress?: Progress, maxLineBytes?: number): void {
    runToEnd(this.addFileSteps(path, progress, maxLineBytes));
  }

  /** `addFile` as steps: it yields after each chunk of lines, so that a caller can pause between them. */
  *addFileSteps(path: string, progress?: Progress, maxLineBytes?: number): Interruptible<void> {
    let words = 0;
    const size = safeSize(path);
    progress?.setTotal(size);
    for (const { lines, bytesRead } of lineChunks(path, { maxLineBytes })) {
      for (const line of lines) words += this.add(line);
      progress?.update(bytesRead, `${this.counts.size} words`);
      yield;
    }
    if (words === 0) {
      throw new CorpusError(`${path}: no usable text (expected UTF-8 text, one sentence per line)`);
    }
  }

  /** Adds sentences as interruptible work: it yields every 1024 sentences. */
  *addAllSteps(sentences: Iterable<string>): Interruptible<void> {
    let n = 0;
    for (const s of sentences) {
      this.add(s);
      if ((++n & 1023) === 0) yield;
    }
  }
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
