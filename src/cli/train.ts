/**
 * `mlm train`: the tutorial's training run from the command line.
 *
 *   mlm train                                  bundled Tatoeba English, tutorial defaults
 *   mlm train it-en.tsv --max-steps 300        any corpus, fewer steps
 *   mlm train --resume runs/2026-11-28_10-00-00 --max-steps 2000
 */
import {
  configHelp,
  DEFAULT_CONFIG,
  parseConfigArgs,
  resolveConfig,
  type FieldTable,
  type TrainConfig,
} from "../config.js";
import { RunDirectory } from "../run/index.js";
import { describeSummary, train } from "../train/trainer.js";
import { UsageError } from "./flags.js";

/** The command's own flags, besides the configuration's. */
const TRAIN_FLAGS = {
  resume: {
    kind: "path",
    default: null,
    placeholder: "RUN_DIR",
    help: "continue RUN_DIR from its latest checkpoint",
  },
} as const satisfies FieldTable;

const D = DEFAULT_CONFIG;
const percent = (x: number): string => `${Math.round(100 * x)}%`;
/** Where `mlm train` differs from the library's defaults: a terminal user wants to see progress. */
const CLI_DEFAULTS = { progress: true } as const satisfies Partial<TrainConfig>;

const split = `${percent(D.trainFraction)}/${percent(1 - D.trainFraction)}`;
const HELP = `Usage: mlm train [CORPUS] [options]

Trains a masked language model as the tutorial "Training your First Language Model" does:
BPE tokenizer, ${percent(D.sample)} sample, ${split} split, ${percent(D.maskProb)} masking, ${D.numLayers}-layer encoder, Adam with clipping,
evaluation every --eval-steps, a checkpoint whenever the validation loss improves.
CORPUS is a .tsv (id_it, sent_it, id_en, sent_en), .txt (one sentence per line) or .jsonl file;
without it, the bundled Tatoeba English sentences are used.

${configHelp(TRAIN_FLAGS, CLI_DEFAULTS)}`;

/** Keys that may change when resuming: they do not alter what was already computed. */
const RESUMABLE = new Set<keyof TrainConfig>([
  "maxSteps",
  "epochs",
  "progress",
  "threads",
  "earlyStopping",
  "keepLast",
  "evalSteps",
  "logSteps",
]);

/** `mlm train [CORPUS] [flags]`; returns the exit code (130 when stopped by Ctrl-C after saving). */
export async function trainCommand(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseConfigArgs<typeof TRAIN_FLAGS>>;
  try {
    args = parseConfigArgs(argv, { flags: TRAIN_FLAGS, command: "mlm train" });
  } catch (err) {
    // A bad flag, configuration file or combination of settings: all are bad arguments.
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
  const { config: parsed, positionals, extra, given } = args;
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`expected at most one corpus file, got ${positionals.length}: ${positionals.join(" ")}`);
  let config = parsed;
  if (positionals.length === 1) {
    if (given.data !== undefined)
      throw new UsageError("give the corpus either as an argument or with --data, not both");
    config = { ...config, data: positionals[0] };
  }
  const resume = extra.resume ?? undefined;
  if (resume !== undefined) {
    const saved = await new RunDirectory(resume).readConfig();
    const changed = Object.keys(given).filter(
      (k) =>
        !RESUMABLE.has(k as keyof TrainConfig) &&
        JSON.stringify(given[k as keyof TrainConfig]) !== JSON.stringify(saved[k as keyof TrainConfig]),
    );
    if (positionals.length > 0 || changed.length > 0) {
      throw new UsageError(
        `cannot change ${[...changed, ...(positionals.length > 0 ? ["the corpus"] : [])].join(", ")} when resuming; ` +
          `only ${[...RESUMABLE].join(", ")} may change`,
      );
    }
    config = resolveConfig({ ...saved, ...given }, "resumed configuration");
  }
  if (given.progress === undefined) config = { ...config, progress: CLI_DEFAULTS.progress };
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  try {
    const summary = await train(config, { resume, signal: controller.signal });
    process.stdout.write(describeSummary(summary) + "\n");
    return summary.stoppedBy === "signal" ? 130 : 0;
  } finally {
    process.off("SIGINT", onSignal);
  }
}
