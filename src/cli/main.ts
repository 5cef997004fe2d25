#!/usr/bin/env node
/**
 * The `mlm` command: one entry point, one sub-command per job.
 *
 *   mlm train [CORPUS] [flags]          train a masked language model (the tutorial's recipe)
 *   mlm tokenizer train FILE... [flags] train a BPE tokenizer and save tokenizer.json
 *   mlm download [--url URL] [--out F]  fetch the tutorial's it-en.tsv
 *   mlm fill TEXT --model RUN_DIR       fill in [MASK] tokens
 *   mlm eval --model RUN_DIR --data F   loss, perplexity and accuracy on a corpus
 *   mlm runs [RUN_DIR]                  what past runs reached
 */
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { UsageError } from "./flags.js";
import { Interrupted } from "./interrupts.js";

const USAGE = `mlm-ts: train and use small BERT-style masked language models

Usage: mlm <command> [options]   (mlm <command> --help for the options)

Commands:
  train                train a masked language model on a corpus (default: bundled Tatoeba English)
  tokenizer train      train a BPE tokenizer and save it as a Hugging Face tokenizer.json
  download             download the tutorial's Tatoeba Italian-English TSV
  fill                 predict the tokens behind [MASK] in a text
  eval                 loss, perplexity and masked-token accuracy of a trained model on a corpus
  runs                 list past runs, or show one run's curves
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
      return null;
    case "download":
      return [(await import("./download.js")).downloadCommand, argv.slice(1)];
    case "fill":
      return [(await import("./fill.js")).fillCommand, argv.slice(1)];
    case "eval":
      return [(await import("./eval.js")).evalCommand, argv.slice(1)];
    case "runs":
      return [(await import("./runs.js")).runsCommand, argv.slice(1)];
    default:
      return null;
  }
}

/** Runs `mlm` with its arguments (without "node" and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 1 : 0;
  }
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

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
