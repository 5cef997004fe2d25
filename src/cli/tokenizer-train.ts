/**
 * `mlm tokenizer train FILE... --out tokenizer.json`: trains a BPE tokenizer (the tutorial's recipe by
 * default) on corpus files (plain text, the tutorial's TSV or JSON lines) and writes a Hugging Face tokenizer.json.
 */
import { parseArgs } from "node:util";
import { intFlag, UsageError } from "./flags.js";
import { Interrupted, listenForInterrupts } from "./interrupts.js";
import { resolveFormat, streamCorpus, type CorpusFormat } from "../data/corpus.js";
import { TUTORIAL_TOKENIZER, trainBpe } from "../tokenizer/index.js";
import type { BpeTrainOptions } from "../tokenizer/index.js";

const HELP = `Usage: mlm tokenizer train [options] FILE... --out PATH

Trains a BPE tokenizer on corpus files and writes a Hugging Face tokenizer.json. Defaults are the
tutorial's recipe. Files are plain text (UTF-8, one sentence per line), the tutorial's TSV (the
English column is used) or JSON lines (--text-field), as for mlm train.

Options:
  --out PATH                 where to write tokenizer.json (required)
  --format FORMAT            auto (by extension, default), txt, tsv or jsonl
  --text-field NAME          JSON lines: the field holding the sentence (default text)
  --vocab-size N             target vocabulary size (default ${TUTORIAL_TOKENIZER.vocabSize})
  --min-frequency N          stop when the best pair is rarer than N (default ${TUTORIAL_TOKENIZER.minFrequency})
  --special-tokens LIST      comma-separated special tokens, in id order
                             (default ${TUTORIAL_TOKENIZER.specialTokens.join(",")}; "" for none)
  --unk-token TOK            unknown-character token (default [UNK]; "none" for none)
  --prefix STR               continuing-subword prefix (default ##; "none" for none)
  --suffix STR               end-of-word suffix (default none)
  --limit-alphabet N         keep only the N most frequent characters (default: all)
  --initial-alphabet CHARS   characters always in the alphabet
  --lowercase / --no-lowercase   lowercase normalizer (default on)
  --nfkc                     NFKC normalization
  --strip-accents            remove accents (NFD, then drop combining marks)
  --pre-tokenizer KIND       whitespace (\\w+|[^\\w\\s]+, default) or whitespace-split
  --cls-token TOK            token before each sentence (default [CLS]; "none" for no template)
  --sep-token TOK            token after each sentence (default [SEP]; "none" for no template)
  --max-length N             truncation length, 0 for none (default ${TUTORIAL_TOKENIZER.maxLength})
  --padding MODE             none (default), longest, or a fixed length N
  --pad-token TOK            padding token (default [PAD])
  --no-progress              no progress bars
  --pretty                   indent the JSON
  -h, --help                 show this help
`;

/** Runs the command; returns the process exit code. Errors are printed as one line on stderr. */
export async function tokenizerTrainCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: "string" },
        "vocab-size": { type: "string" },
        "min-frequency": { type: "string" },
        "special-tokens": { type: "string" },
        "unk-token": { type: "string" },
        prefix: { type: "string" },
        suffix: { type: "string" },
        "limit-alphabet": { type: "string" },
        "initial-alphabet": { type: "string" },
        lowercase: { type: "boolean" },
        "no-lowercase": { type: "boolean" },
        nfkc: { type: "boolean" },
        "strip-accents": { type: "boolean" },
        "pre-tokenizer": { type: "string" },
        "cls-token": { type: "string" },
        "sep-token": { type: "string" },
        "max-length": { type: "string" },
        padding: { type: "string" },
        "pad-token": { type: "string" },
        "no-progress": { type: "boolean" },
        pretty: { type: "boolean" },
        format: { type: "string" },
        "text-field": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`mlm tokenizer train: ${(err as Error).message} (see --help)\n`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    if (parsed.positionals.length === 0) throw new UsageError("no input file given");
    if (v.out === undefined) throw new UsageError("--out PATH is required");
    if (v.lowercase && v["no-lowercase"]) throw new UsageError("--lowercase and --no-lowercase contradict each other");
    const options: Partial<BpeTrainOptions> = {
      vocabSize: optionalInt("--vocab-size", v["vocab-size"], 1),
      minFrequency: optionalInt("--min-frequency", v["min-frequency"], 0),
      limitAlphabet: optionalInt("--limit-alphabet", v["limit-alphabet"], 0),
      initialAlphabet:
        v["initial-alphabet"] === undefined ? undefined : [...new Set(Array.from(v["initial-alphabet"]))],
      specialTokens:
        v["special-tokens"] === undefined ? undefined : v["special-tokens"].split(",").filter((s) => s.length > 0),
      unkToken: noneable(v["unk-token"]),
      continuingSubwordPrefix: noneable(v.prefix),
      endOfWordSuffix: noneable(v.suffix),
      lowercase: v["no-lowercase"] ? false : v.lowercase ? true : undefined,
      nfkc: v.nfkc,
      stripAccents: v["strip-accents"],
      preTokenizer: preTokenizerFlag(v["pre-tokenizer"]),
      clsToken: noneable(v["cls-token"]),
      sepToken: noneable(v["sep-token"]),
      padToken: v["pad-token"],
      showProgress: !v["no-progress"],
    };
    const maxLength = optionalInt("--max-length", v["max-length"], 0);
    if (maxLength !== undefined) options.maxLength = maxLength === 0 ? null : maxLength;
    if (v.padding !== undefined) options.padding = paddingFlag(v.padding);
    // Without special tokens, the tutorial's [UNK]/[CLS]/[SEP] defaults cannot apply.
    if (options.specialTokens !== undefined) {
      const has = (t: string): boolean => options.specialTokens?.includes(t) ?? false;
      if (v["unk-token"] === undefined && !has("[UNK]")) options.unkToken = null;
      if (v["cls-token"] === undefined && !has("[CLS]")) options.clsToken = null;
      if (v["sep-token"] === undefined && !has("[SEP]")) options.sepToken = null;
    }
    const started = performance.now();
    const format = v.format ?? "auto";
    if (!["auto", "txt", "tsv", "jsonl"].includes(format))
      throw new UsageError(`--format must be auto, txt, tsv or jsonl, got "${format}"`);
    const formats = await Promise.all(parsed.positionals.map((f) => resolveFormat(f, format as CorpusFormat | "auto")));
    // Plain text goes to the trainer's own fast file reader; TSV and JSON lines through the corpus
    // reader, which takes the English column or the text field (as `mlm train` does).
    const input = formats.every((f) => f.format === "txt")
      ? parsed.positionals
      : sentencesOf(parsed.positionals, format as CorpusFormat | "auto", v["text-field"]);
    const interrupts = listenForInterrupts("stopping; nothing will be written");
    let tok;
    try {
      tok = await trainBpe(input, options, { signal: interrupts.signal });
    } finally {
      interrupts.dispose();
    }
    tok.save(v.out, v.pretty ?? false);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    process.stderr.write(`wrote ${v.out}: ${tok.vocabSize} tokens in ${seconds}s\n`);
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`mlm tokenizer train: ${err.message}; ${v.out ?? "no file"} not written\n`);
      return err.exitCode;
    }
    const usage = err instanceof UsageError;
    process.stderr.write(`mlm tokenizer train: ${(err as Error).message}${usage ? " (see --help)" : ""}\n`);
    return usage ? 2 : 1;
  }
}

/** The sentences of corpus files in any supported format, one by one. */
async function* sentencesOf(
  files: string[],
  format: CorpusFormat | "auto",
  textField: string | undefined,
): AsyncGenerator<string> {
  for (const file of files) for await (const { text } of streamCorpus(file, { format, textField })) yield text;
}

/** An optional integer flag (undefined when absent). */
function optionalInt(name: string, value: string | undefined, min: number): number | undefined {
  return value === undefined ? undefined : intFlag(name, value, min);
}

function noneable(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return value === "none" || value === "" ? null : value;
}

function preTokenizerFlag(value: string | undefined): BpeTrainOptions["preTokenizer"] | undefined {
  if (value === undefined) return undefined;
  if (value === "whitespace" || value === "whitespace-split") return value;
  throw new UsageError(`--pre-tokenizer: expected "whitespace" or "whitespace-split", got "${value}"`);
}

function paddingFlag(value: string): BpeTrainOptions["padding"] {
  if (value === "none") return null;
  if (value === "longest") return "longest";
  return intFlag("--padding", value, 1);
}
