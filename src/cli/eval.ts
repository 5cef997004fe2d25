/**
 * `mlm eval`: loss, perplexity and masked-token accuracy of a trained model.
 *
 *   mlm eval --model runs/tatoeba --data other.txt --sample 0.1 --seed 1
 *   mlm eval --model runs/tatoeba --split valid --json
 */
import { CONFIG_TABLE, flagName, parseFlags, pickKeys, type FieldTable } from "../config/index.js";
import {
  EVALUATE_CORPUS_OPTIONS,
  evaluateCorpus,
  evaluateRunValidation,
  loadModel,
  evaluateLabelled,
  type CorpusEvaluation,
  type LoadedClassifier,
} from "../pipelines/index.js";
import { formatReport as formatClassificationReport } from "../model/index.js";
import { commandHelp, INFERENCE_BACKEND_FLAG, MODEL_FLAG, UsageError } from "./flags.js";
import { listenForInterrupts } from "./interrupts.js";

/** The corpus options `mlm eval --data` takes; `--split valid` uses the run's own. */
const CORPUS_KEYS = ["format", "textField", "sample", "seed", "maskProb", "batchSize"] as const;

const EVAL_FLAGS = {
  model: MODEL_FLAG,
  data: { kind: "path", short: "d", default: null, placeholder: "FILE", help: "corpus to score (read as in training)" },
  split: {
    kind: "choice",
    choices: ["valid"],
    default: null,
    help: "instead: the run's validation split, scored as training did (needs its corpus file)",
  },
  ...pickKeys(EVALUATE_CORPUS_OPTIONS, CORPUS_KEYS),
  json: { kind: "boolean", default: false, help: "print the metrics as JSON" },
  backend: INFERENCE_BACKEND_FLAG,
  threads: CONFIG_TABLE.threads,
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm eval --model RUN_DIR (--data FILE | --split valid) [options]

Scores a trained model at masked positions: mean cross-entropy (loss), perplexity = exp(loss),
top-1 and top-5 accuracy. Masks are drawn with a fixed seed, so runs with the same flags agree.`,
  EVAL_FLAGS,
);

/** Runs `mlm eval`; `write` receives the output (stdout by default). */
export async function evalCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(EVAL_FLAGS, argv, { command: "mlm eval" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values: v, given } = parsed;
  if ((v.data === null) === (v.split === null))
    throw new UsageError("give either --data FILE or --split valid (see mlm eval --help)");
  if (v.split !== null) {
    const corpusFlags = CORPUS_KEYS.filter((k) => given[k] !== undefined).map(flagName);
    if (corpusFlags.length > 0)
      throw new UsageError(`--split valid uses the run's own settings; drop --${corpusFlags.join(", --")}`);
  }
  const progress = !v.json; // a bar on a terminal, a line every 10 s in a log

  const interrupts = listenForInterrupts("stopping the evaluation");
  let loaded;
  try {
    loaded = await loadModel(v.model, { backend: v.backend, threads: v.threads, task: "auto", maxBatch: v.batchSize });
  } catch (err) {
    interrupts.dispose();
    throw err;
  }
  if (loaded.task === "text-classification") return evalClassifier(loaded, v, interrupts, write);
  try {
    const signal = interrupts.signal;
    const result =
      v.data !== null
        ? await evaluateCorpus(loaded, v.data, { ...pickKeys(v, CORPUS_KEYS), progress, signal })
        : await evaluateRunValidation(loaded, { progress, signal });
    const source = v.data ?? `validation split of ${loaded.runDir ?? loaded.checkpointDir}`;
    if (v.json)
      write(JSON.stringify({ model: loaded.checkpointDir, data: source, ...metricsOnly(result) }, null, 2) + "\n");
    else write(formatReport(loaded.checkpointDir, source, result));
    return 0;
  } finally {
    interrupts.dispose();
    loaded.dispose();
  }
}

/** `mlm eval` of a classifier on a labelled --data file: accuracy, macro-F1, the report and the confusion matrix. */
async function evalClassifier(
  loaded: LoadedClassifier,
  v: { data: string | null; json: boolean },
  interrupts: ReturnType<typeof listenForInterrupts>,
  write: (text: string) => void,
): Promise<number> {
  try {
    if (v.data === null)
      throw new UsageError("a classifier is scored on a labelled --data FILE (.tsv, .csv or .jsonl)");
    const progress = process.stderr.isTTY === true && !v.json;
    const m = await evaluateLabelled(loaded, v.data, {}, { progress, signal: interrupts.signal });
    if (v.json) write(JSON.stringify({ model: loaded.checkpointDir, data: v.data, ...m }, null, 2) + "\n");
    else
      write(
        `model ${loaded.checkpointDir}\ndata  ${v.data} (${m.examples} examples, ${m.truncated} truncated to ${loaded.modelConfig.maxLen} tokens)\n` +
          `loss  ${m.loss.toFixed(4)}\n\n${formatClassificationReport(m)}\n`,
      );
    return 0;
  } finally {
    interrupts.dispose();
    loaded.dispose();
  }
}

function metricsOnly(r: CorpusEvaluation): Omit<CorpusEvaluation, "corpus"> {
  return {
    loss: r.loss,
    perplexity: r.perplexity,
    accuracy: r.accuracy,
    top5: r.top5,
    tokens: r.tokens,
    sentences: r.sentences,
  };
}

/** A short aligned table of the metrics. */
export function formatReport(model: string, source: string, r: CorpusEvaluation): string {
  const pct = (x: number): string => (Number.isNaN(x) ? "-" : `${(100 * x).toFixed(2)}%`);
  const rows: [string, string][] = [
    ["model", model],
    ["data", source],
    ["sentences", String(r.sentences)],
    ["masked tokens", String(r.tokens)],
    ["loss", r.loss.toFixed(4)],
    ["perplexity", r.perplexity.toFixed(2)],
    ["accuracy", pct(r.accuracy)],
    ["top-5 accuracy", pct(r.top5)],
  ];
  return rows.map(([k, val]) => `${k.padEnd(15)} ${val}`).join("\n") + "\n";
}
