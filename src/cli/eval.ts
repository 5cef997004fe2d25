/**
 * `mlm eval`: loss, perplexity and masked-token accuracy of a trained model.
 *
 *   mlm eval --model runs/tatoeba --data other.txt --sample 0.1 --seed 1
 *   mlm eval --model runs/tatoeba --split valid --json
 */
import { evaluateCorpus, evaluateRunValidation, loadModel, type CorpusEvaluation } from "../pipelines/index.js";
import { choiceFlag, fractionFlag, intFlag, parseCommandArgs, UsageError } from "./flags.js";
import { listenForInterrupts } from "./interrupts.js";

const HELP = `Usage: mlm eval --model RUN_DIR (--data FILE | --split valid) [options]

Scores a trained model at masked positions: mean cross-entropy (loss), perplexity = exp(loss),
top-1 and top-5 accuracy. Masks are drawn with a fixed seed, so runs with the same flags agree.

Options:
  -m, --model DIR          run directory (uses best/, else the newest last-*/) or a checkpoint directory
  -d, --data FILE          corpus to score (.tsv, .txt or .jsonl; read as in training)
      --split valid        instead: the run's own validation split, scored exactly as training did
                           (needs the run's corpus file where training found it)
      --format F           auto|tsv|txt|jsonl (default auto)
      --text-field NAME    JSON-lines field holding the text (default text)
      --sample F           fraction of the sentences scored, in (0, 1] (default 1)
      --seed N             seed of the sample and the masks (default 0)
      --mask-prob P        probability a token is masked (default 0.15)
      --batch-size N       sentences per batch (default 64)
      --json               print the metrics as JSON
      --backend ts|wasm    kernels (default wasm)
      --threads N          wasm worker threads (default: one per core)
  -h, --help               this help
`;

/** Runs `mlm eval`; `write` receives the output (stdout by default). */
export async function evalCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseCommandArgs("eval", {
    args: argv,
    allowPositionals: false,
    options: {
      model: { type: "string", short: "m" },
      data: { type: "string", short: "d" },
      split: { type: "string" },
      format: { type: "string" },
      "text-field": { type: "string" },
      sample: { type: "string" },
      seed: { type: "string" },
      "mask-prob": { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      backend: { type: "string" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const v = parsed.values;
  if (v.help) {
    write(HELP);
    return 0;
  }
  if (v.model === undefined) throw new UsageError("--model RUN_DIR is required (see mlm eval --help)");
  if (v.split !== undefined && v.split !== "valid") throw new UsageError(`--split must be "valid", got "${v.split}"`);
  if ((v.data === undefined) === (v.split === undefined))
    throw new UsageError("give either --data FILE or --split valid (see mlm eval --help)");
  if (v.split !== undefined) {
    const corpusFlags = ["format", "text-field", "sample", "seed", "mask-prob", "batch-size"].filter(
      (f) => v[f as keyof typeof v] !== undefined,
    );
    if (corpusFlags.length > 0)
      throw new UsageError(`--split valid uses the run's own settings; drop --${corpusFlags.join(", --")}`);
  }
  const format = choiceFlag("--format", v.format ?? "auto", ["auto", "tsv", "txt", "jsonl"] as const);
  const options = {
    format,
    textField: v["text-field"],
    sample: v.sample === undefined ? undefined : fractionFlag("--sample", v.sample),
    seed: v.seed === undefined ? undefined : intFlag("--seed", v.seed, 0),
    maskProb: v["mask-prob"] === undefined ? undefined : fractionFlag("--mask-prob", v["mask-prob"]),
    batchSize: v["batch-size"] === undefined ? undefined : intFlag("--batch-size", v["batch-size"], 1),
  } as const;
  const backend = choiceFlag("--backend", v.backend ?? "wasm", ["ts", "wasm"] as const);
  const threads = v.threads === undefined ? 0 : intFlag("--threads", v.threads, 0);
  const progress = process.stderr.isTTY === true && !v.json;

  const interrupts = listenForInterrupts("stopping the evaluation");
  let loaded;
  try {
    loaded = await loadModel(v.model, { backend, threads });
  } catch (err) {
    interrupts.dispose();
    throw err;
  }
  try {
    const signal = interrupts.signal;
    const result =
      v.data !== undefined
        ? await evaluateCorpus(loaded, v.data, { ...options, progress, signal })
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
