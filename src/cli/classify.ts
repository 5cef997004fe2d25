/**
 * `mlm classify`: the text-classification pipeline from the command line.
 *
 *   mlm classify "Win a FREE cruise!!!" "Re: meeting notes" --model runs/spam
 *   mlm classify --data mails.tsv --model runs/spam > predictions.jsonl
 */
import { CONFIG_TABLE, parseFlags, type FieldTable } from "../config/index.js";
import { CLASSIFY_OPTIONS, classify, loadModel, type ClassificationOutput } from "../pipelines/index.js";
import { commandHelp, INFERENCE_BACKEND_FLAG, MODEL_FLAG } from "./flags.js";
import { readTextInputs, TEXT_INPUT_FLAGS } from "./text-inputs.js";

const CLASSIFY_FLAGS = {
  model: MODEL_FLAG,
  topK: { ...CLASSIFY_OPTIONS.topK, short: "k" },
  json: { kind: "boolean", default: false, help: "print transformers.js's output as JSON" },
  ...TEXT_INPUT_FLAGS,
  batchSize: { kind: "int", default: 32, min: 1, help: "texts per batch" },
  backend: INFERENCE_BACKEND_FLAG,
  threads: CONFIG_TABLE.threads,
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm classify TEXT... --model RUN_DIR [options]
       mlm classify --data FILE --model RUN_DIR [options]

Labels and scores (softmax over the classes), best first, of each text with a classifier trained
by mlm finetune. With --data, one JSON line per text ({"text", "labels": [{label, score}, ...]}),
in batches spread over every core (the wasm backend's threads).`,
  CLASSIFY_FLAGS,
);

export async function classifyCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(CLASSIFY_FLAGS, argv, { positionals: true, command: "mlm classify" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values: v, positionals } = parsed;
  const inputs = await readTextInputs(positionals, v);
  const loaded = await loadModel(v.model, {
    task: "text-classification",
    backend: v.backend,
    threads: v.threads,
    maxBatch: Math.min(v.batchSize, inputs.length),
  });
  try {
    const out = classify(loaded, inputs, { topK: v.topK });
    const perText = (v.topK === 1 ? (out as ClassificationOutput[]).map((o) => [o]) : out) as ClassificationOutput[][];
    if (v.data !== null) {
      const lines = inputs.map((t, i) => JSON.stringify({ text: t, labels: perText[i] }));
      write(lines.join("\n") + "\n");
    } else if (v.json) {
      write(JSON.stringify(inputs.length === 1 ? perText[0] : out, null, 2) + "\n");
    } else {
      const width = Math.max(...loaded.classifier.id2label.map((l) => l.length));
      const lines = inputs.map((t, i) => {
        const labels = perText[i].map((o) => `${o.label.padEnd(width)} ${o.score.toFixed(4)}`).join("  ");
        return `${labels}  ${typeof t === "string" ? t : `${t.text} | ${t.text_pair ?? ""}`}`;
      });
      write(lines.join("\n") + "\n");
    }
    return 0;
  } finally {
    loaded.dispose();
  }
}
