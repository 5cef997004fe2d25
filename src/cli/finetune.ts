/**
 * `mlm finetune`: a classifier from a pre-trained run, on labelled sentences (the tutorial's
 * fine-tuning chapter), trained by the same loop as `mlm train`.
 *
 *   mlm finetune data/spam-subjects.tsv --from runs/pre --out-dir runs/spam
 *   mlm finetune data/spam-subjects.tsv --from none --tokenizer runs/pre/tokenizer.json
 *   mlm finetune --resume runs/spam
 */
import { configHelp, parseConfigArgs, resolveConfig, type FieldTable, type TrainConfig } from "../config/index.js";
import { LABELLED_DATA_OPTIONS } from "../data/index.js";
import {
  finetune,
  FINETUNE_DEFAULTS,
  FINETUNE_HEAD_OPTIONS,
  resumeFinetune,
  type FinetuneSummary,
} from "../train/finetune.js";
import { UsageError } from "./flags.js";
import { Interrupted, listenForInterrupts } from "./interrupts.js";
import { RESUMABLE } from "./train.js";

const { dataSeed: _seed, ...DATA_FLAGS } = LABELLED_DATA_OPTIONS; // --data-seed is the configuration's

const FINETUNE_FLAGS = {
  from: {
    kind: "string",
    default: null,
    placeholder: "RUN|none",
    help: "pre-trained run (or checkpoint) whose encoder starts the classifier; none: random weights",
  },
  resume: { kind: "path", default: null, placeholder: "RUN_DIR", help: "continue RUN_DIR from its latest checkpoint" },
  force: { kind: "boolean", default: false, help: "start afresh in an --out-dir that holds a run, deleting its files" },
  ...FINETUNE_HEAD_OPTIONS,
  ...DATA_FLAGS,
} as const satisfies FieldTable;

const CLI_DEFAULTS = { ...FINETUNE_DEFAULTS, progress: true } as const satisfies Partial<TrainConfig>;

const HELP = `Usage: mlm finetune DATA --from RUN|none [options]
       mlm finetune --resume RUN_DIR [options]

Fine-tunes a pre-trained encoder for sentence classification, as the tutorial's next chapter does:
the head dense -> ReLU -> LayerNorm on [CLS], then a linear layer to the classes (a run of BERT's
architecture gets BERT's head: dense -> tanh -> dropout -> linear); cross-entropy;
Adam with clipping; an evaluation (loss, accuracy, macro-F1, per-class scores, confusion matrix)
every --eval-steps, the best checkpoint by --best-metric. DATA is a .tsv, .csv or .jsonl file with
a text column and a label column. The first log line is the TF-IDF + logistic-regression baseline
on the same split (mlm baseline). --from none trains the same shape from random weights (give it
the pre-trained run's --tokenizer for a fair comparison). The run directory is like mlm train's.

${configHelp(FINETUNE_FLAGS, CLI_DEFAULTS)}`;

export async function finetuneCommand(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseConfigArgs<typeof FINETUNE_FLAGS>>;
  try {
    args = parseConfigArgs(argv, { flags: FINETUNE_FLAGS, command: "mlm finetune" });
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { positionals, extra, given } = args;
  const resume = extra.resume ?? undefined;
  if (resume !== undefined) {
    const changed = Object.keys(given).filter((k) => !RESUMABLE.has(k as keyof TrainConfig));
    if (positionals.length > 0 || changed.length > 0 || extra.from !== null || extra.head !== null || extra.force)
      throw new UsageError(`a resumed run keeps its data and settings; only ${[...RESUMABLE].join(", ")} may change`);
  } else {
    if (positionals.length !== 1)
      throw new UsageError(`expected one DATA file, got ${positionals.length} (see mlm finetune --help)`);
    // "--from none" parses to null, as every "none" of a flag that may be null: tell it from no --from
    const fromGiven = argv.some((a) => a === "--from" || a.startsWith("--from="));
    if (!fromGiven) throw new UsageError("give --from RUN (a pre-trained run) or --from none (random weights)");
  }
  const interrupts = listenForInterrupts("finishing this step, then saving a checkpoint");
  const options = { signal: interrupts.signal, startedAt: performance.timeOrigin, force: extra.force };
  try {
    let summary: FinetuneSummary;
    if (resume !== undefined) {
      summary = await resumeFinetune(resume, given, options);
    } else {
      // the tutorial's fine-tuning settings under the file's and the flags' (args.config has the table's)
      const withDefaults = resolveConfig({ ...CLI_DEFAULTS, ...given, data: positionals[0] }, "mlm finetune");
      summary = await finetune(
        {
          config: withDefaults,
          from: extra.from,
          pooling: extra.pooling,
          head: extra.head ?? undefined,
          bestMetric: extra.bestMetric,
          valid: extra.valid,
          validFraction: extra.validFraction,
          textColumn: extra.textColumn,
          textPairColumn: extra.textPairColumn,
          labelColumn: extra.labelColumn,
        },
        options,
      );
    }
    if (summary.stoppedBy === "signal") {
      const saved =
        summary.latestCheckpoint === null
          ? "no checkpoint was written"
          : `checkpoint saved: ${summary.latestCheckpoint}`;
      process.stderr.write(
        `mlm finetune: ${interrupts.received?.message ?? "interrupted"} at step ${summary.steps}; ${saved}; resume with: mlm finetune --resume ${summary.runDir}\n`,
      );
      return interrupts.received?.exitCode ?? 130;
    }
    process.stdout.write(describeFinetune(summary) + "\n");
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`mlm finetune: ${err.message} before training started; nothing to resume\n`);
      return err.exitCode;
    }
    throw err;
  } finally {
    interrupts.dispose();
  }
}

/** The last line: the best checkpoint's evaluation. */
export function describeFinetune(s: FinetuneSummary): string {
  const best = s.evaluations.find((e) => e.step === s.bestStep);
  const what =
    best === undefined
      ? "no evaluation"
      : `best at step ${s.bestStep}: accuracy ${(100 * best.metrics.accuracy).toFixed(1)}%, macro-F1 ${best.metrics.macroF1.toFixed(4)}, loss ${best.metrics.loss.toFixed(4)}`;
  const state = s.stoppedBy === "complete" ? "already complete" : "done";
  return `${state}: ${what} | ${s.steps} steps | wall ${s.wallSeconds.toFixed(0)} s | ${s.runDir}`;
}
