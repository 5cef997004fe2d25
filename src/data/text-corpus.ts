/**
 * A plain-text corpus already in memory (a browser tab's fetched or picked file): one sentence per
 * line, read exactly as `readCorpus` reads a .txt file (a byte-order mark dropped, "\n" and "\r\n"
 * line endings, sentences trimmed, empty lines and repeated sentences dropped, file order kept), so
 * that a run on the same text gets the same sentences in a tab and on Node.
 *
 * @example
 *   const { sentences, stats } = textCorpus("notes.txt", "a cat\r\n\na dog\na cat\n");
 *   // sentences: ["a cat", "a dog"]; stats.emptyDropped 1, stats.duplicatesDropped 1
 */
import type { CorpusStats } from "./corpus.js";

/** A corpus held in memory: its name (for messages and the run's records) and its unique sentences. */
export interface InMemoryCorpus {
  name: string;
  sentences: string[];
  stats: CorpusStats;
}

/** The sentences of a .txt corpus's text; see the module comment. A NUL character is refused, naming its line. */
export function textCorpus(name: string, text: string): InMemoryCorpus {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop(); // the newline ending the last line starts no line
  const stats: CorpusStats = {
    path: name,
    format: "txt",
    formatFrom: "extension",
    lines: lines.length,
    headerDetected: false,
    emptyDropped: 0,
    duplicatesDropped: 0,
    sentences: 0,
  };
  const seen = new Set<string>();
  const sentences: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.includes("\0"))
      throw new Error(`${name}:${i + 1}: a NUL character; expected UTF-8 text, one sentence per line`);
    const sentence = line.trim();
    if (sentence.length === 0) stats.emptyDropped++;
    else if (seen.has(sentence)) stats.duplicatesDropped++;
    else {
      seen.add(sentence);
      sentences.push(sentence);
    }
  }
  stats.sentences = sentences.length;
  return { name, sentences, stats };
}
