/**
 * `mlm embed`: sentence vectors (the feature-extraction pipeline) from any run.
 *
 *   mlm embed "I like tea." "I love tea." --model runs/pre --normalize --json
 *   mlm embed --data sentences.txt --model runs/pre --out vectors.npy
 */
import { writeFile } from "node:fs/promises";
import { CONFIG_TABLE, parseFlags, type FieldTable } from "../config/index.js";
import { npyArray } from "../interop/index.js";
import { EMBED_OPTIONS, embed, loadModel } from "../pipelines/index.js";
import { commandHelp, INFERENCE_BACKEND_FLAG, MODEL_FLAG, UsageError } from "./flags.js";
import { readTextInputs, TEXT_INPUT_FLAGS } from "./text-inputs.js";

const EMBED_FLAGS = {
  model: MODEL_FLAG,
  ...EMBED_OPTIONS,
  ...TEXT_INPUT_FLAGS,
  out: {
    kind: "path",
    short: "o",
    default: null,
    placeholder: "FILE",
    help: "write the vectors to FILE: .npy (float32 [texts, d_model]) or .jsonl (a JSON list per line)",
  },
  json: { kind: "boolean", default: false, help: "print the vectors as JSON (a list per text)" },
  batchSize: { kind: "int", default: 32, min: 1, help: "texts per batch" },
  backend: INFERENCE_BACKEND_FLAG,
  threads: CONFIG_TABLE.threads,
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm embed TEXT... --model RUN_DIR [options]
       mlm embed --data FILE --model RUN_DIR --out vectors.npy [options]

One vector per text from the encoder of any run (masked-LM or classifier): the mean of its token
vectors (padding left out) or its [CLS] vector, of d_model numbers; --normalize scales each to unit
length (then a dot product is the cosine similarity). Without --out, one line per text.`,
  EMBED_FLAGS,
);

export async function embedCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(EMBED_FLAGS, argv, { positionals: true, command: "mlm embed" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values: v, positionals } = parsed;
  if (v.out !== null && !/\.(npy|jsonl)$/i.test(v.out))
    throw new UsageError(`--out ${v.out}: expected a .npy or .jsonl file`);
  const inputs = await readTextInputs(positionals, v);
  const loaded = await loadModel(v.model, {
    task: "auto",
    backend: v.backend,
    threads: v.threads,
    maxBatch: Math.min(v.batchSize, inputs.length),
  });
  try {
    const out = embed(loaded, inputs, { pooling: v.pooling, normalize: v.normalize });
    if (v.out !== null && v.out.toLowerCase().endsWith(".npy")) {
      await writeFile(v.out, Buffer.concat(npyArray(out.data, out.dims)));
    } else if (v.out !== null) {
      await writeFile(
        v.out,
        out
          .tolist()
          .map((r) => JSON.stringify(r))
          .join("\n") + "\n",
      );
    } else if (v.json) {
      write(JSON.stringify(out.tolist()) + "\n");
    } else {
      write(
        out
          .tolist()
          .map((r) => r.map((x) => x.toFixed(5)).join(" "))
          .join("\n") + "\n",
      );
    }
    return 0;
  } finally {
    loaded.dispose();
  }
}
