/**
 * Normalizers and pre-tokenizers, written to give the same words as Hugging Face `tokenizers` (Rust).
 *
 * Whitespace pre-tokenizer: Rust's regex `\w+|[^\w\s]+` with Unicode classes. Rust's `\w` is
 * Alphabetic + Mark + Decimal_Number + Connector_Punctuation + Join_Control (so no superscript digits
 * such as "²"), and `\s` is White_Space. JavaScript's `\w` is ASCII-only, so the classes are spelled out.
 * Instead of running that regex per sentence, a scanner classifies each character (a table for ASCII,
 * a cache for the rest) and cuts runs of "word" and "other" characters: same words, several times faster.
 *
 * WhitespaceSplit: runs of non-White_Space characters.
 */

/** Which normalization steps run, in this order: NFKC, lowercase, strip accents (NFD then drop marks). */
export interface NormalizerConfig {
  nfkc: boolean;
  lowercase: boolean;
  stripAccents: boolean;
}

export type PreTokenizerKind = "whitespace" | "whitespace-split";

const WORD = 0;
const SPACE = 1;
const OTHER = 2;

const WORD_RE = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const SPACE_RE = /^\p{White_Space}$/u;
const MARK_RE = /\p{Mn}/gu;
const SIGMA = "\u03a3";

/** Class of every ASCII code unit (0..127), filled once. */
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_CLASS[c] = classifySlow(c);
/** Classes of the non-ASCII code points met so far (a text uses few distinct ones). */
const CLASS_CACHE = new Map<number, number>();

function classifySlow(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (WORD_RE.test(ch)) return WORD;
  if (SPACE_RE.test(ch)) return SPACE;
  return OTHER;
}

function classify(cp: number): number {
  if (cp < 128) return ASCII_CLASS[cp];
  let k = CLASS_CACHE.get(cp);
  if (k === undefined) {
    k = classifySlow(cp);
    CLASS_CACHE.set(cp, k);
  }
  return k;
}

/**
 * Writes the pre-token boundaries of `text` into `bounds` as [start0, end0, start1, end1, ...]
 * (UTF-16 indices) and returns the number of pre-tokens. `bounds` is reused by callers, so the hot
 * path allocates nothing. whitespace: maximal runs of word characters and maximal runs of other
 * non-space characters; whitespace-split: maximal runs of non-space characters.
 *
 * @example
 *   const b: number[] = [];
 *   scanPreTokens("Hi, you!", "whitespace", b); // 4, b = [0, 2, 2, 3, 4, 7, 7, 8]
 */
export function scanPreTokens(text: string, kind: PreTokenizerKind, bounds: number[]): number {
  const n = text.length;
  const split = kind === "whitespace-split";
  let count = 0;
  let start = -1;
  let runClass = SPACE;
  let i = 0;
  while (i < n) {
    let cp = text.charCodeAt(i);
    let width = 1;
    let k: number;
    if (cp < 128) {
      k = ASCII_CLASS[cp];
    } else {
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      k = classify(cp);
    }
    if (split && k === OTHER) k = WORD;
    if (k !== runClass) {
      if (runClass !== SPACE) {
        bounds[2 * count] = start;
        bounds[2 * count + 1] = i;
        count++;
      }
      runClass = k;
      start = i;
    }
    i += width;
  }
  if (runClass !== SPACE) {
    bounds[2 * count] = start;
    bounds[2 * count + 1] = n;
    count++;
  }
  return count;
}

const SCRATCH: number[] = [];

/**
 * Calls `emit(start, end)` (UTF-16 indices into `text`) for each pre-token, left to right.
 * Uses a shared buffer: `emit` must not call `forEachPreToken` itself.
 */
export function forEachPreToken(
  text: string,
  kind: PreTokenizerKind,
  emit: (start: number, end: number) => void,
): void {
  const n = scanPreTokens(text, kind, SCRATCH);
  for (let t = 0; t < n; t++) emit(SCRATCH[2 * t], SCRATCH[2 * t + 1]);
}

/** Splits `text` into pre-tokens (strings). Convenience wrapper over `forEachPreToken`. */
export function preTokenize(text: string, kind: PreTokenizerKind): string[] {
  const out: string[] = [];
  forEachPreToken(text, kind, (s, e) => out.push(text.slice(s, e)));
  return out;
}

/**
 * Lowercases as Rust's `char::to_lowercase` does, one character at a time. JavaScript's
 * `toLowerCase` agrees except for the context-dependent final sigma, so that one case goes per character.
 */
export function lowercase(text: string): string {
  const lower = text.toLowerCase();
  if (!text.includes(SIGMA)) return lower;
  let out = "";
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/** Applies the configured normalization steps to a whole string. */
export function normalize(text: string, config: NormalizerConfig): string {
  let s = text;
  if (config.nfkc) s = s.normalize("NFKC");
  if (config.lowercase) s = lowercase(s);
  if (config.stripAccents) s = s.normalize("NFD").replace(MARK_RE, "");
  return s;
}

/** True when no normalization step is configured. */
export function isIdentityNormalizer(config: NormalizerConfig): boolean {
  return !config.nfkc && !config.lowercase && !config.stripAccents;
}
