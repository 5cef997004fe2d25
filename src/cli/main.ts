#!/usr/bin/env node
/**
 * The `mlm` command: one entry point, one sub-command per job.
 *
 *   mlm train [CORPUS] [flags]          train a masked language model (the tutorial's recipe)
 *   mlm tokenizer train FILE... [flags] train a BPE tokenizer and save tokenizer.json
 *   mlm download [sst2] [--url URL]     fetch the tutorial's it-en.tsv, or GLUE's SST-2
 *   mlm fill TEXT --model RUN_DIR       fill in [MASK] tokens
 *   mlm eval --model RUN_DIR --data F   loss, perplexity and accuracy on a corpus
 *   mlm runs [RUN_DIR]                  what past runs reached
 *   mlm export RUN_DIR --format F --out D   the model for ONNX Runtime / transformers.js, or PyTorch
 *   mlm import DIR --out RUN_DIR        a model trained in PyTorch back as a run
 *   mlm studio [RUNS_DIR]               the runs in a local web page
 *   mlm baseline DATA                   TF-IDF + logistic regression on a labelled data set
 *   mlm finetune DATA --from RUN        a classifier from a pre-trained run
 *   mlm classify TEXT... --model RUN    labels and scores from a classifier
 *   mlm embed TEXT... --model RUN       sentence vectors from any run
 *   mlm help [COMMAND], mlm --version
 */
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { setCliEngineFlags } from "./engine-flags.js";
import { UsageError } from "./flags.js";
import { Interrupted, stopForClosedOutput } from "./interrupts.js";
import { version } from "./version.js";

export { version } from "./version.js";

const USAGE = `mlm-ts: train and use small BERT-style masked language models

Usage: mlm <command> [options]   (mlm <command> --help or mlm help <command> for the options)

Commands:
  train                train a masked language model on a corpus (default: bundled Tatoeba English)
  tokenizer train      train a BPE tokenizer and save it as a Hugging Face tokenizer.json
  download             download the tutorial's Tatoeba Italian-English TSV (sst2: GLUE's SST-2)
  fill                 predict the tokens behind [MASK] in a text
  eval                 loss, perplexity and masked-token accuracy of a trained model on a corpus
  runs                 list past runs, or show one run's curves
  export               export a run to ONNX (ONNX Runtime, transformers.js) or PyTorch (torchrun)
  import               make a run of a model trained in PyTorch (mlm export --format pytorch)
  studio               watch, compare and use runs in the browser
  finetune             fine-tune a pre-trained run for sentence classification
  classify             labels and scores of texts from a fine-tuned classifier
  embed                sentence vectors from any run (mean or [CLS] pooling)
  baseline             TF-IDF + logistic regression on a labelled data set (what to beat)

mlm --version prints the version.
`;

const TOKENIZER_USAGE = `Usage: mlm tokenizer <command> [options]

Commands:
  train                train a BPE tokenizer and save it as a Hugging Face tokenizer.json
                       (mlm tokenizer train --help for its options)
`;

type Command = (argv: string[]) => Promise<number>;

/** Loads a sub-command lazily so that `mlm download` does not pay for the engine. */
async function findCommand(argv: string[]): Promise<[Command, string[]] | null> {
  const [first, second] = argv;
  switch (first) {
    case "train":
      return [(await import("./train.js")).trainCommand, argv.slice(1)];
    case "tokenizer":
      if (second === "train") return [(await import("./tokenizer-train.js")).tokenizerTrainCommand, argv.slice(2)];
      if (second === undefined || isHelp(second)) return [tokenizerHelp, argv.slice(1)];
      return null;
    case "download":
      return [(await import("./download.js")).downloadCommand, argv.slice(1)];
    case "fill":
      return [(await import("./fill.js")).fillCommand, argv.slice(1)];
    case "eval":
      return [(await import("./eval.js")).evalCommand, argv.slice(1)];
    case "runs":
      return [(await import("./runs.js")).runsCommand, argv.slice(1)];
    case "export":
      return [(await import("./export.js")).exportCommand, argv.slice(1)];
    case "import":
      return [(await import("./import.js")).importCommand, argv.slice(1)];
    case "studio":
      return [(await import("./studio.js")).studioCommand, argv.slice(1)];
    case "finetune":
      return [(await import("./finetune.js")).finetuneCommand, argv.slice(1)];
    case "classify":
      return [(await import("./classify.js")).classifyCommand, argv.slice(1)];
    case "embed":
      return [(await import("./embed.js")).embedCommand, argv.slice(1)];
    case "baseline":
      return [(await import("./baseline.js")).baselineCommand, argv.slice(1)];
    default:
      return null;
  }
}

const isHelp = (arg: string): boolean => arg === "--help" || arg === "-h" || arg === "help";

/** `mlm tokenizer [--help]`: the list of its sub-commands (exit 2 when none was named). */
async function tokenizerHelp(argv: string[]): Promise<number> {
  process.stdout.write(TOKENIZER_USAGE);
  return argv.length === 0 ? 2 : 0;
}

/** Runs `mlm` with its arguments (without "node" and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || (argv.length === 1 && isHelp(argv[0]))) {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-v") {
    process.stdout.write(`mlm-ts ${version()}\n`);
    return 0;
  }
  // `mlm help train` is `mlm train --help`.
  if (argv[0] === "help") return main([...argv.slice(1), "--help"]);
  const found = await findCommand(argv);
  if (!found) {
    process.stderr.write(`mlm: unknown command "${argv.slice(0, 2).join(" ")}"\n\n${USAGE}`);
    return 2;
  }
  const [command, rest] = found;
  try {
    return await command(rest);
  } catch (err) {
    // Errors meant for users are one line; a stack trace only with MLM_DEBUG=1. Bad arguments exit with 2,
    // a command stopped by a signal with 128 + its number.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mlm ${argv[0]}: ${message}\n`);
    if (err instanceof Interrupted) return err.exitCode;
    if (process.env.MLM_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
    return err instanceof UsageError ? 2 : 1;
  }
}

/** The exit code of a command ended by a closed output pipe: 128 + SIGPIPE's number, as a shell reports it. */
export const CLOSED_OUTPUT_EXIT_CODE = 141;

/** Makes `stream` drop whatever is written to it from now on (its reader is gone). */
function dropOutput(stream: NodeJS.WriteStream): void {
  stream.write = (...args: unknown[]): boolean => {
    const callback = args.find((a) => typeof a === "function") as (() => void) | undefined;
    if (callback !== undefined) queueMicrotask(callback);
    return true;
  };
}

/**
 * Runs `mlm` as a process: the exit code of `main`. When the reader of its output goes away
 * (`mlm runs | head -2`, `mlm train 2>&1 | head -4`, a killed `tee`, the studio that started it
 * killed), the rest of that output is dropped, without an EPIPE stack trace, and the command never
 * ends with a success it did not reach: one that listens for signals (train, tokenizer train, eval)
 * is stopped as SIGHUP stops it (training saves a checkpoint and marks the run "interrupted"; exit
 * 129); any other ends at once, quietly, with 141 (128 + SIGPIPE, what a shell reports for a
 * command killed by a closed pipe). Sets the command's V8 flags for this process first
 * (engine-flags.ts).
 */
export async function runCli(argv: string[]): Promise<void> {
  setCliEngineFlags();
  let stopping = false;
  for (const stream of [process.stdout, process.stderr]) {
    let closed = false;
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      if (closed) return;
      closed = true;
      dropOutput(stream);
      if (stopping) return; // the command is already saving and will exit with its own code
      stopping = stopForClosedOutput();
      if (!stopping) process.exit(process.exitCode ? Number(process.exitCode) : CLOSED_OUTPUT_EXIT_CODE);
    });
  }
  process.exitCode = await main(argv);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) await runCli(process.argv.slice(2));
