/**
 * `mlm fill`: the fill-mask pipeline from the command line.
 *
 *   mlm fill "The cat sat on the [MASK]." --model runs/tatoeba
 *   mlm fill "[MASK] likes [MASK]." --model runs/tatoeba/best --top-k 3 --json
 */
import { fillMasks, loadModel, type FillMaskPrediction } from "../pipelines/index.js";
import { choiceFlag, intFlag, parseCommandArgs, UsageError } from "./flags.js";

const HELP = `Usage: mlm fill TEXT --model RUN_DIR [options]

Predicts the tokens behind each [MASK] of TEXT with a trained model: the top-k candidates per mask,
with their probabilities (softmax over the whole vocabulary; special tokens are not filtered out).

Options:
  -m, --model DIR        run directory (uses best/, else the newest last-*/) or a checkpoint directory
  -k, --top-k N          candidates per mask (default 5)
      --json             print the pipeline's output as JSON: for one mask a list of
                         {score, token, token_str, sequence}, for several masks a list of such lists
      --backend ts|wasm  kernels (default ts: one short text runs as fast on the plain TypeScript kernels)
      --threads N        wasm worker threads (default: one per core)
  -h, --help             this help
`;

/** Runs `mlm fill`; `write` receives the output (stdout by default). */
export async function fillCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseCommandArgs("fill", {
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string", short: "m" },
      "top-k": { type: "string", short: "k" },
      json: { type: "boolean" },
      backend: { type: "string" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    write(HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`expected one TEXT argument (quote it), got ${positionals.length} (see mlm fill --help)`);
  if (values.model === undefined) throw new UsageError("--model RUN_DIR is required (see mlm fill --help)");
  const topK = values["top-k"] === undefined ? 5 : intFlag("--top-k", values["top-k"], 1);
  const backend = choiceFlag("--backend", values.backend ?? "ts", ["ts", "wasm"] as const);
  const threads = values.threads === undefined ? 0 : intFlag("--threads", values.threads, 0);

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
