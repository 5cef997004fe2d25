/** Shared helpers of the tokenizer tests: the bundled corpus and temp files. */
import { readFileSync } from "node:fs";
import { bundledCorpusPath } from "../../src/data/paths.js";

/** The bundled Tatoeba English corpus (65,241 sentences). */
export const corpusPath = bundledCorpusPath;

/** The corpus's sentences (non-empty lines). */
export function corpusLines(): string[] {
  return readFileSync(corpusPath(), "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
}

export { tempDir } from "../temp-dir.js";

/** Sentences that exercise the edges of the pipeline (special tokens in text, Unicode, empty). */
export const EDGE_SENTENCES = [
  "Hello [MASK] world",
  "x[MASK]y[SEP]z",
  "[MASK][MASK]",
  "[mask] is not special after lowercasing",
  "",
  "   ",
  "İstanbul ΟΔΟΣ fiancée Reykjavík",
  "😀 smile 😀x emoji",
  "ﬁne ligature",
  "a\u0301b combining",
  "x² and H₂O",
  "tabs\tand\nnewlines",
  "QWERTY zxqv 12345 !!! ??? ...",
  // Long words (over 48 symbols) take the priority-queue merge path.
  "thequickbrownfoxjumpsoverthelazydog".repeat(20),
  "Iamworkingonitrightnowandwillbedonesoonerthanyouthink! antidisestablishmentarianism".repeat(3),
];
