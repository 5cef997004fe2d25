/**
 * `mlm export`: a trained run for other engines.
 *
 *   mlm export runs/tatoeba --format onnx --out exported/onnx       ONNX Runtime, transformers.js
 *   mlm export runs/tatoeba --format pytorch --out exported/torch   PyTorch, torchrun / DDP
 *   mlm export runs/bert --format hf --out exported/hf              Hugging Face BertForMaskedLM (--recipe bert runs)
 */
import { parseFlags, type FieldTable } from "../config/index.js";
import { exportHf, exportOnnx, exportPytorch } from "../interop/index.js";
import { commandHelp, UsageError } from "./flags.js";
import { asUsageError, realPath } from "./output-path.js";
import { version } from "./version.js";

const EXPORT_FLAGS = {
  format: {
    kind: "choice",
    choices: ["onnx", "pytorch", "hf"],
    default: null,
    required: true,
    help: "onnx: model.onnx for ONNX Runtime and transformers.js; pytorch: weights, data and mlm_torch.py; hf: BertForMaskedLM's folder (--recipe bert runs)",
  },
  out: {
    kind: "path",
    short: "o",
    default: null,
    required: true,
    placeholder: "DIR",
    help: "folder to write (a new one, or --force)",
  },
  force: { kind: "boolean", default: false, help: "replace the folder DIR and everything in it" },
  anyTokenizer: {
    kind: "boolean",
    default: false,
    help: "onnx: export even a tokenizer that JavaScript tokenizers read differently (the tutorial's ## prefix)",
  },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm export RUN_DIR --format onnx|pytorch|hf --out DIR [--force] [--any-tokenizer]

Exports a trained run. onnx: its best checkpoint as onnx/model.onnx (opset 17; inputs input_ids and
attention_mask, int64 [batch, sequence], at most max_position_embeddings long; outputs logits [batch,
sequence, vocab], or [batch, labels] for a classifier, and last_hidden_state [batch, sequence, d_model])
with config.json, tokenizer.json and tokenizer_config.json, the layout transformers.js reads (fill-mask,
text-classification, feature-extraction). A run whose tokenizer JavaScript reads differently (the
tutorial's ## prefix) is refused unless --any-tokenizer. pytorch: its newest
checkpoint as model.safetensors ([out, in] linear weights) and optimizer.safetensors (Adam's moments),
both splits' token ids and the fixed validation masks (data/*.npy shards; a fine-tuned classifier's
with each sentence's class), and mlm_torch.py, which defines the model and trains it with torch.distributed: torchrun --nproc_per_node N DIR/mlm_torch.py train DIR
--out OUT --steps S; then mlm import OUT --out RUN_DIR. hf: a run of BERT's architecture (trained with
--recipe bert) as Hugging Face's BertForMaskedLM folder: config.json, model.safetensors in BERT's tensor
names, tokenizer.json; other architectures are refused, naming the option that is not BERT's. DIR is written as one unit; an existing DIR is
replaced only with --force, and never when it is, holds or lies inside the run or a run's checkpoint.`,
  EXPORT_FLAGS,
);

/** Runs `mlm export`; `write` receives the output (stdout by default). */
export async function exportCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
  warn: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const parsed = parseFlags(EXPORT_FLAGS, argv, { positionals: true, command: "mlm export" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError(`expected one RUN_DIR argument, got ${positionals.length} (see mlm export --help)`);
  const run = (runDir: string, out: string): ReturnType<typeof exportPytorch> =>
    values.format === "onnx"
      ? exportOnnx(runDir, out, version(), { force: values.force, anyTokenizer: values.anyTokenizer })
      : { pytorch: exportPytorch, hf: exportHf }[values.format](runDir, out, version(), { force: values.force });
  // Real paths: a symbolic link cannot hide that the output is, holds or lies inside the run.
  const result = await asUsageError(run(realPath(positionals[0]), realPath(values.out)));
  for (const w of result.warnings) warn(`mlm export: warning: ${w}\n`);
  write(`exported ${result.checkpointDir} (${values.format}):\n${result.files.map((f) => `  ${f}\n`).join("")}`);
  return 0;
}
