/**
 * `mlm fill`: the fill-mask pipeline from the command line.
 *
 *   mlm fill "The cat sat on the [MASK]." --model runs/tatoeba
 *   mlm fill "[MASK] likes [MASK]." --model runs/tatoeba/best --top-k 3 --json
 */
import { CONFIG_TABLE, parseFlags, type FieldTable } from "../config/index.js";
import { FILL_MASK_OPTIONS, fillMasks, loadModel, type FillMaskPrediction } from "../pipelines/index.js";
import { commandHelp, INFERENCE_BACKEND_FLAG, MODEL_FLAG, UsageError } from "./flags.js";

const FILL_FLAGS = {
  model: MODEL_FLAG,
  topK: { ...FILL_MASK_OPTIONS.topK, short: "k" },
  json: {
    kind: "boolean",
    default: false,
    help: "print the pipeline's output as JSON: a list of {score, token, token_str, sequence} per mask",
  },
  /** One short text runs as fast on the plain TypeScript kernels. */
  backend: { ...INFERENCE_BACKEND_FLAG, default: "ts" },
  threads: CONFIG_TABLE.threads,
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm fill TEXT --model RUN_DIR [options]

Predicts the tokens behind each [MASK] of TEXT with a trained model: the top-k candidates per mask,
with their probabilities (softmax over the whole vocabulary; special tokens are not filtered out).
With --json, one mask gives one list, several masks a list of lists.`,
  FILL_FLAGS,
);

/** Runs `mlm fill`; `write` receives the output (stdout by default). */
export async function fillCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(FILL_FLAGS, argv, { positionals: true, command: "mlm fill" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError(`expected one TEXT argument (quote it), got ${positionals.length} (see mlm fill --help)`);
  const { backend, threads, topK } = values;

  const loaded = await loadModel(values.model, { backend, threads, maxBatch: 1 });
  try {
    const perMask = fillMasks(loaded, positionals[0], { topK });
    if (values.json) write(JSON.stringify(perMask.length === 1 ? perMask[0] : perMask, null, 2) + "\n");
    else write(formatTable(perMask));
    return 0;
  } finally {
    loaded.dispose();
  }
}

/** One block per mask: rank, score, token, sequence, aligned. */
export function formatTable(perMask: FillMaskPrediction[][]): string {
  const lines: string[] = [];
  perMask.forEach((predictions, m) => {
    if (perMask.length > 1) lines.push(`[MASK] ${m + 1} of ${perMask.length}`);
    const tokenWidth = Math.max(5, ...predictions.map((p) => p.token_str.length));
    lines.push(`${"rank".padStart(4)}  ${"score".padStart(7)}  ${"token".padEnd(tokenWidth)}  sequence`);
    predictions.forEach((p, i) => {
      lines.push(
        `${String(i + 1).padStart(4)}  ${p.score.toFixed(4).padStart(7)}  ${p.token_str.padEnd(tokenWidth)}  ${p.sequence}`,
      );
    });
    if (m < perMask.length - 1) lines.push("");
  });
  return lines.join("\n") + "\n";
}
