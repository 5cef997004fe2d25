/**
 * `mlm tokenizer train FILE... --out tokenizer.json`: trains a BPE tokenizer (the tutorial's recipe by
 * default) on corpus files (plain text, the tutorial's TSV or JSON lines) and writes a Hugging Face tokenizer.json.
 */
import { CONFIG_TABLE, parseFlags, type FieldTable } from "../config/index.js";
import { commandHelp, UsageError } from "./flags.js";
import { Interrupted, listenForInterrupts } from "./interrupts.js";
import { resolveFormat, streamCorpus, type ReadCorpusOptions } from "../data/corpus.js";
import { checkOutputPath } from "./output-path.js";
import { platform } from "../platform/index.js";
import { TUTORIAL_TOKENIZER as TUTORIAL, trainBpe } from "../tokenizer/index.js";
import type { BpeTrainOptions } from "../tokenizer/index.js";

/** The flags, with the tutorial's recipe as defaults. */
const TOKENIZER_FLAGS = {
  out: {
    kind: "path",
    default: null,
    required: true,
    help: "where to write tokenizer.json (never one of the input files)",
  },
  force: { kind: "boolean", default: false, help: "replace --out when it already exists" },
  maxLineBytes: CONFIG_TABLE.maxLineBytes,
  format: CONFIG_TABLE.format,
  textField: CONFIG_TABLE.textField,
  vocabSize: { kind: "int", default: TUTORIAL.vocabSize, min: 1, help: "target vocabulary size" },
  minFrequency: {
    kind: "int",
    default: TUTORIAL.minFrequency,
    min: 0,
    help: "stop when the best pair is rarer than N",
  },
  specialTokens: {
    kind: "list",
    default: TUTORIAL.specialTokens,
    help: 'comma-separated special tokens, in id order ("" for none)',
  },
  unkToken: {
    kind: "string",
    default: TUTORIAL.unkToken,
    nullable: true,
    placeholder: "TOK",
    help: "unknown-character token (none: no such token)",
  },
  prefix: {
    kind: "string",
    default: TUTORIAL.continuingSubwordPrefix,
    nullable: true,
    placeholder: "STR",
    help: "continuing-subword prefix (none: no prefix)",
  },
  suffix: {
    kind: "string",
    default: TUTORIAL.endOfWordSuffix,
    nullable: true,
    none: "none",
    placeholder: "STR",
    help: "end-of-word suffix",
  },
  limitAlphabet: {
    kind: "int",
    default: TUTORIAL.limitAlphabet,
    nullable: true,
    min: 0,
    none: "all",
    help: "keep only the N most frequent characters",
  },
  initialAlphabet: { kind: "string", default: null, placeholder: "CHARS", help: "characters always in the alphabet" },
  lowercase: { kind: "boolean", default: TUTORIAL.lowercase, help: "lowercase normalizer" },
  nfkc: { kind: "boolean", default: TUTORIAL.nfkc, help: "NFKC normalization" },
  stripAccents: {
    kind: "boolean",
    default: TUTORIAL.stripAccents,
    help: "remove accents (NFD, then drop combining marks)",
  },
  preTokenizer: {
    kind: "choice",
    choices: ["whitespace", "whitespace-split"],
    default: TUTORIAL.preTokenizer,
    help: "split words by \\w+|[^\\w\\s]+, or on spaces only",
  },
  clsToken: {
    kind: "string",
    default: TUTORIAL.clsToken,
    nullable: true,
    placeholder: "TOK",
    help: "token before each sentence (none: no template)",
  },
  sepToken: {
    kind: "string",
    default: TUTORIAL.sepToken,
    nullable: true,
    placeholder: "TOK",
    help: "token after each sentence (none: no template)",
  },
  maxLength: {
    kind: "int",
    default: TUTORIAL.maxLength,
    nullable: true,
    min: 0,
    help: "truncation length (0 or none: no truncation)",
  },
  padding: {
    kind: "string",
    default: null,
    none: "none",
    placeholder: "MODE",
    help: "none, longest, or a fixed length N",
  },
  padToken: { kind: "string", default: TUTORIAL.padToken, placeholder: "TOK", help: "padding token" },
  progress: { kind: "boolean", default: true, help: "progress bars on stderr" },
  pretty: { kind: "boolean", default: false, help: "indent the JSON" },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm tokenizer train [options] FILE... --out PATH

Trains a BPE tokenizer on corpus files and writes a Hugging Face tokenizer.json. Defaults are the
tutorial's recipe. Files are plain text (UTF-8, one sentence per line), the tutorial's TSV (the
English column is used) or JSON lines (--text-field), as for mlm train.`,
  TOKENIZER_FLAGS,
);

/** Runs the command; returns the process exit code. Errors are printed as one line on stderr. */
export async function tokenizerTrainCommand(argv: string[]): Promise<number> {
  let out: string | undefined; // named when an interrupt stops the training
  try {
    const parsed = parseFlags(TOKENIZER_FLAGS, argv, { positionals: true, command: "mlm tokenizer train" });
    if (parsed.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const { values: v, given, positionals } = parsed;
    out = v.out;
    if (positionals.length === 0) throw new UsageError("no input file given");
    const options: Partial<BpeTrainOptions> = {
      vocabSize: v.vocabSize,
      minFrequency: v.minFrequency,
      limitAlphabet: v.limitAlphabet,
      initialAlphabet: v.initialAlphabet === null ? [] : [...new Set(Array.from(v.initialAlphabet))],
      specialTokens: v.specialTokens,
      unkToken: v.unkToken,
      continuingSubwordPrefix: v.prefix,
      endOfWordSuffix: v.suffix,
      lowercase: v.lowercase,
      nfkc: v.nfkc,
      stripAccents: v.stripAccents,
      preTokenizer: v.preTokenizer,
      clsToken: v.clsToken,
      sepToken: v.sepToken,
      maxLength: v.maxLength === 0 ? null : v.maxLength,
      padding: paddingFlag(v.padding),
      padToken: v.padToken,
      showProgress: v.progress,
      maxLineBytes: v.maxLineBytes,
    };
    // Without special tokens, the tutorial's [UNK]/[CLS]/[SEP] defaults cannot apply.
    if (given.specialTokens !== undefined) {
      const has = (t: string): boolean => v.specialTokens.includes(t);
      if (given.unkToken === undefined && !has("[UNK]")) options.unkToken = null;
      if (given.clsToken === undefined && !has("[CLS]")) options.clsToken = null;
      if (given.sepToken === undefined && !has("[SEP]")) options.sepToken = null;
    }
    checkOutputPath("--out", v.out, positionals, v.force);
    const started = performance.now();
    const formats = await Promise.all(positionals.map((f) => resolveFormat(f, v.format)));
    // Plain text goes to the trainer's own fast file reader; TSV and JSON lines through the corpus
    // reader, which takes the English column or the text field (as `mlm train` does).
    const input = formats.every((f) => f?.format === "txt")
      ? positionals
      : sentencesOf(positionals, { format: v.format, textField: v.textField, maxLineBytes: v.maxLineBytes });
    const interrupts = listenForInterrupts("stopping; nothing will be written");
    let tok;
    try {
      tok = await trainBpe(input, options, { signal: interrupts.signal });
    } finally {
      interrupts.dispose();
    }
    // Through the storage: a failed write (a full disk) is one line naming the file, and the old file stays.
    await platform().storage.writeAtomic(v.out, tok.toString(v.pretty));
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    process.stderr.write(`wrote ${v.out}: ${tok.vocabSize} tokens in ${seconds}s\n`);
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`mlm tokenizer train: ${err.message}; ${out ?? "no file"} not written\n`);
      return err.exitCode;
    }
    process.stderr.write(`mlm tokenizer train: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** The sentences of corpus files in any supported format, one by one. */
async function* sentencesOf(files: string[], options: ReadCorpusOptions): AsyncGenerator<string> {
  for (const file of files) for await (const { text } of streamCorpus(file, options)) yield text;
}

/** --padding: none (or absent), longest, or a fixed length. */
function paddingFlag(value: string | null): BpeTrainOptions["padding"] {
  if (value === null || value === "none") return null;
  if (value === "longest") return "longest";
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1))
    throw new UsageError(`--padding must be none, longest or an integer >= 1, got "${value}"`);
  return n;
}
