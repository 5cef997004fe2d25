/**
 * Test helpers for the data layer: a tiny word-level tokenizer with the tutorial's special ids
 * ([PAD]=0, [CLS]=1, [SEP]=2, [MASK]=3, [UNK]=4) and temporary folders.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PAD = 0;
export const CLS = 1;
export const SEP = 2;
export const MASK = 3;
export const UNK = 4;

/** Whitespace-split tokenizer; words get ids from 5 up in order of first sight (or [UNK] once frozen). */
export class WordTokenizer {
  readonly words = new Map<string, number>();
  frozen = false;
  constructor(readonly maxLen = 128) {}

  get vocabSize(): number {
    return 5 + this.words.size;
  }

  /** "[CLS] w1 w2 ... [SEP]", truncated to maxLen with [SEP] kept last. */
  encode = (text: string): Int32Array => {
    const pieces = text
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    const n = Math.min(pieces.length, this.maxLen - 2);
    const out = new Int32Array(n + 2);
    out[0] = CLS;
    for (let i = 0; i < n; i++) {
      let id = this.words.get(pieces[i]);
      if (id === undefined) {
        if (this.frozen) id = UNK;
        else this.words.set(pieces[i], (id = 5 + this.words.size));
      }
      out[i + 1] = id;
    }
    out[n + 1] = SEP;
    return out;
  };

  get fingerprint(): string {
    return `word-tokenizer/maxLen=${this.maxLen}`;
  }
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = "mlm-data-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
