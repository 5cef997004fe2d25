/**
 * The texts of `mlm classify` and `mlm embed`: the TEXT arguments, or every example of a `--data`
 * file (the text column(s) of a .tsv, .csv or .jsonl data set, or the lines of a .txt file).
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { LABELLED_DATA_OPTIONS, readLabelled } from "../data/index.js";
import type { TextInput } from "../pipelines/index.js";
import { UsageError } from "./flags.js";

export const TEXT_INPUT_FLAGS = {
  data: {
    kind: "path",
    short: "d",
    default: null,
    placeholder: "FILE",
    help: "texts from a file: .txt (a line each), or the text column of a .tsv, .csv or .jsonl",
  },
  // The same columns as mlm finetune's data (one declaration of each).
  textColumn: LABELLED_DATA_OPTIONS.textColumn,
  textPairColumn: LABELLED_DATA_OPTIONS.textPairColumn,
} as const;

export async function readTextInputs(
  positionals: string[],
  v: { data: string | null; textColumn: string | null; textPairColumn: string | null },
): Promise<TextInput[]> {
  if ((v.data === null) === (positionals.length === 0))
    throw new UsageError("give TEXT arguments or --data FILE (one of them)");
  if (v.data === null) return positionals;
  if (extname(v.data).toLowerCase() === ".txt") {
    const lines = (await readFile(v.data, "utf8")).split(/\r?\n/).filter((l) => l.trim() !== "");
    if (lines.length === 0) throw new Error(`${v.data}: no text`);
    return lines;
  }
  const file = await readLabelled(v.data, {
    textColumn: v.textColumn ?? undefined,
    textPairColumn: v.textPairColumn ?? undefined,
    labelColumn: null,
  });
  return file.examples.map((e) => (e.textPair === undefined ? e.text : { text: e.text, text_pair: e.textPair }));
}
