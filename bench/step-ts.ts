/**
 * Milliseconds per training step (forward + backward + Adam) of the tutorial's default model on the
 * plain TypeScript backend: batch 64, sentences of 5..16 tokens (about 10.5 on average, like
 * Tatoeba), unpadded rows, head on the ~15% masked rows.
 *
 * Run: node --import tsx bench/step-ts.ts [steps] [--padded] [--full-head]   (prints the median)
 * `--padded` pads every sentence to the batch's 16 columns; `--full-head` runs the output layer on
 * every row (both as the tutorial does, apart from its padding to 128).
 */
import { pathToFileURL } from "node:url";
import type { Backend } from "../src/engine/backend.js";
import { Rng } from "../src/engine/rng.js";
import { TsBackend } from "../src/engine/ts-backend.js";
import { packBatch, type PaddedBatch } from "../src/model/batch.js";
import { MlmModel } from "../src/model/model.js";
import { Adam } from "../src/train/optimizer.js";

/** A realistic MLM batch: B sentences of random lengths, 15% of non-special tokens labelled. */
export function syntheticBatch(rng: Rng, B: number, S: number, V: number, minLen = 5, maskRate = 0.15): PaddedBatch {
  const ids = new Int32Array(B * S);
  const labels = new Int32Array(B * S).fill(-100);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const len = minLen + rng.int(S - minLen + 1);
    lengths[b] = len;
    ids[b * S] = 1; // [CLS]
    ids[b * S + len - 1] = 2; // [SEP]
    for (let j = 1; j < len - 1; j++) {
      const tok = 5 + rng.int(V - 5);
      ids[b * S + j] = tok;
      if (rng.float() < maskRate) {
        labels[b * S + j] = tok;
        ids[b * S + j] = 3; // [MASK]
      }
    }
  }
  return { B, S, ids, lengths, labels };
}

/** Times `steps` training steps of the default model on `backend`; returns per-step milliseconds. */
export function benchTrainStep(backend: Backend, steps = 5, opts: { batchSize?: number; maxLen?: number; fullHead?: boolean; padded?: boolean } = {}): { msPerStep: number[]; median: number; rows: number; labels: number } {
  const B = opts.batchSize ?? 64;
  const S = opts.maxLen ?? 16;
  const model = new MlmModel(backend, {}, { maxRows: B * S, maxSeqs: B });
  model.init(new Rng(0));
  const opt = new Adam(backend, model.params.length);
  const rng = new Rng(1);
  const dropoutRng = new Rng(2);
  const ms: number[] = [];
  let rows = 0;
  let labels = 0;
  for (let i = 0; i < steps + 1; i++) {
    const batch = packBatch(syntheticBatch(rng, B, S, model.config.vocabSize), opts.padded ? "padded" : "unpadded");
    const t0 = performance.now();
    const r = model.forwardBackward(batch, { dropoutRng, fullHead: opts.fullHead ?? false });
    opt.update(model.params, model.grads, 3e-4);
    const dt = performance.now() - t0;
    if (i > 0) ms.push(dt); // the first step includes JIT warm-up
    rows = batch.rows;
    labels = r.count;
  }
  const sorted = ms.slice().sort((a, b) => a - b);
  return { msPerStep: ms, median: sorted[Math.floor(sorted.length / 2)]!, rows, labels };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const steps = Number(args.find((a) => !a.startsWith("--")) ?? 5);
  const padded = args.includes("--padded");
  const fullHead = args.includes("--full-head");
  const r = benchTrainStep(new TsBackend(), steps, { padded, fullHead });
  const mode = `${padded ? "padded" : "unpadded"}, ${fullHead ? "full" : "sparse"} head`;
  console.log(`ts backend, default model, batch 64, ${mode} (${r.rows} rows, ${r.labels} labels): median ${r.median.toFixed(0)} ms/step over ${steps} steps [${r.msPerStep.map((x) => x.toFixed(0)).join(", ")}]`);
}
