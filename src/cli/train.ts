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
} from "../config/index.js";
import { WebGpuUnavailableError } from "../engine/webgpu/device.js";
import { RunDirectory } from "../run/index.js";
import { describeSummary, train } from "../train/trainer.js";
import { parseDuration } from "../util/duration.js";
import { UsageError } from "./flags.js";
import { Interrupted, listenForInterrupts } from "./interrupts.js";
import { checkOutputFolderPath } from "./output-path.js";

/** The command's own flags, besides the configuration's. */
const TRAIN_FLAGS = {
  resume: {
    kind: "path",
    default: null,
    placeholder: "RUN_DIR",
    help: "continue RUN_DIR from its latest checkpoint",
  },
  force: { kind: "boolean", default: false, help: "start afresh in an --out-dir that holds a run, deleting its files" },
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

/** Keys that may change when resuming (mlm train and mlm finetune): they do not alter what was already computed. */
export const RESUMABLE = new Set<keyof TrainConfig>([
  "maxSteps",
  "epochs",
  "progress",
  "threads",
  "earlyStopping",
  "keepLast",
  "saveSteps",
  "saveMinutes",
  "evalSteps",
  "logSteps",
  "maxLineBytes",
  "maxCorpusBytes",
]);

/**
 * `mlm train [CORPUS] [flags]`; returns the exit code: 0, or 130 / 143 / 129 when stopped by SIGINT /
 * SIGTERM / SIGHUP (after saving a checkpoint once training has started).
 */
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
    // Resolved again with the corpus: a corpus of one's own changes a default (the sample).
    config = resolveConfig({ ...given, data: positionals[0] }, "command line");
  }
  const resume = extra.resume ?? undefined;
  const force = extra.force;
  if (resume !== undefined && force)
    throw new UsageError("--force starts a run afresh, --resume continues it: give one of them");
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
  if (config.outDir !== null) checkOutputFolderPath("--out-dir", config.outDir);
  const interrupts = listenForInterrupts("finishing this step, then saving a checkpoint");
  const budget = budgetNotices(config);
  try {
    // a time budget counts from the process's start (performance.timeOrigin is on Date.now's clock)
    const summary = await train(config, {
      resume,
      force,
      signal: interrupts.signal,
      startedAt: performance.timeOrigin,
    });
    if (summary.stoppedBy === "signal") {
      const saved =
        summary.latestCheckpoint === null
          ? "no checkpoint was written (--keep-last 0)"
          : `checkpoint saved: ${summary.latestCheckpoint}`;
      process.stderr.write(
        `mlm train: ${interrupts.received?.message ?? "interrupted"} at step ${summary.steps}; ${saved}; resume with: mlm train --resume ${summary.runDir}\n`,
      );
      return interrupts.received?.exitCode ?? 130;
    }
    process.stdout.write(describeSummary(summary) + "\n");
    budget.atEnd();
    return 0;
  } catch (err) {
    // --backend webgpu without WebGPU here: a usage error, found before anything was written
    if (err instanceof WebGpuUnavailableError) throw new UsageError(`--backend webgpu: ${err.message}`);
    // Stopped before the first step (reading the corpus, training the tokenizer, tokenizing).
    if (err instanceof Interrupted) {
      const after =
        resume === undefined ? "nothing to resume" : `the run is unchanged; resume with: mlm train --resume ${resume}`;
      process.stderr.write(`mlm train: ${err.message} before training started; ${after}\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    interrupts.dispose();
    budget.dispose();
  }
}

/** Seconds since the process started, the clock of --time-budget. */
const secondsSinceStart = (): string => (performance.now() / 1000).toFixed(1);

/**
 * What `mlm train` says about its --time-budget: a line when the budget runs out while the run still
 * goes on (preparing the data, timing its first steps, its last evaluation and checkpoint are not cut
 * short), and one at the end of a run that ended past its budget.
 */
function budgetNotices(config: TrainConfig): { atEnd(): void; dispose(): void } {
  if (config.timeBudget === null || config.budgetSteps > 0) return { atEnd() {}, dispose() {} };
  const budget = config.timeBudget;
  const budgetMs = (parseDuration(budget) ?? 0) * 1000; // resolveConfig checked it
  const timer = setTimeout(
    () =>
      process.stderr.write(
        `mlm train: the --time-budget of ${budget} is spent (${secondsSinceStart()} s since the start); ` +
          "the run ends at its first chance, once it has timed its first steps, with an evaluation and a checkpoint\n",
      ),
    Math.max(0, budgetMs - performance.now()),
  );
  timer.unref();
  return {
    atEnd() {
      if (performance.now() > budgetMs)
        process.stderr.write(`mlm train: the run took ${secondsSinceStart()} s, past its --time-budget of ${budget}\n`);
    },
    dispose: () => clearTimeout(timer),
  };
}
