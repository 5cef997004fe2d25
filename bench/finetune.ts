/**
 * Fine-tuning and inference benchmark, on the bundled spam subjects with the tutorial's model shape
 * (6 layers, d_model 128, 8 heads, d_ff 256) and a tokenizer trained on them:
 * - one fine-tuning step (classifier forward, backward, Adam) against one masked-LM step (the MLM
 *   head at the 15% masked tokens) of the same 64 sentences, alternating, median ms and the median of
 *   the paired ratios, with where each step's time goes (profile.ts: `mlm.profile.*`, `finetune.profile.*`);
 * - classify and embed throughput (sentences per second) over 1,024 subjects in batches of 64, on the
 *   wasm backend's threads, beside ONNX Runtime Web running the same classifier exported to ONNX on as
 *   many threads (onnx-inference.ts), alternating, medians of 3 rounds; both sides' outputs compared;
 *   and mlm-ts's classify on the same batches padded (ONNX Runtime computes the padding rows, mlm-ts
 *   packs only the real tokens), to tell the packing's share of the difference from the kernels'.
 *
 * Run: `node dist/bench/finetune.js [--threads N] [--quick]`; prints a JSON line last.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/config/index.js";
import { createBackend } from "../src/engine/create.js";
import {
  BatchBuffers,
  collate,
  createMasking,
  encodeLabelled,
  LabelledLoader,
  neverMaskedIds,
  type Batch,
} from "../src/data/index.js";
import { ClassifierModel, MlmModel, modelConfigOf } from "../src/model/index.js";
import { trainBpeFromSentences } from "../src/tokenizer/index.js";
import { adamFor } from "../src/train/optimizer.js";
import { Rng } from "../src/util/rng.js";
import { OnnxClassifier } from "./onnx-inference.js";
import { breakdownTable, StepProfiler } from "./profile.js";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

export async function runFinetuneBench(options: { threads: number; quick: boolean }): Promise<Record<string, number>> {
  const path = fileURLToPath(new URL("../../data/spam-subjects.tsv", import.meta.url));
  const rows = readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t"));
  const texts = rows.map((r) => r[0]);
  const labels = Int32Array.from(rows, (r) => (r[1] === "spam" ? 1 : 0));
  const tokenizer = trainBpeFromSentences(texts, { vocabSize: 8000, minFrequency: 2 });
  const modelConfig = modelConfigOf({ vocabSize: tokenizer.vocabSize, dropout: 0.1 });
  const backend = await createBackend("wasm", options.threads);
  const steps = options.quick ? 5 : 20;
  const out: Record<string, number> = { threads: backend.threads };
  try {
    const split = encodeLabelled(
      tokenizer,
      texts.slice(0, 64).map((text) => ({ text })),
      labels.slice(0, 64),
      128,
    );
    const capacity = { maxRows: 64 * 128, maxSeqs: 64 };
    // Each model calls the kernels through its own timing wrapper (profile.ts): where each step's time goes.
    const mlmProf = new StepProfiler(backend);
    const clsProf = new StepProfiler(backend);
    // the masked-LM step: the same sentences, 15% of their tokens masked
    const mlm = new MlmModel(mlmProf.backend, modelConfig, capacity);
    mlm.init(new Rng(1));
    const masking = createMasking({
      maskId: tokenizer.tokenToId("[MASK]")!,
      vocabSize: tokenizer.vocabSize,
      isSpecial: neverMaskedIds(tokenizer),
    });
    const order = Int32Array.from({ length: 64 }, (_, i) => i);
    const mlmBatch = collate(split, order, new BatchBuffers(64, 128), { padId: 0 }, masking, new Rng(2));
    const cls = new ClassifierModel(clsProf.backend, modelConfig, { numLabels: 2, pooling: "cls" }, capacity);
    cls.init(new Rng(1));
    const clsBatch = new LabelledLoader(split, { batchSize: 64, maxLen: 128, padId: 0 }).batch(0, 0);
    const config = resolveConfig({});
    const stepper = (prof: StepProfiler, model: MlmModel | ClassifierModel, batch: Batch): (() => number) => {
      const adam = adamFor(prof.backend, model, config);
      const dropoutRng = new Rng(3);
      return () => {
        const t0 = performance.now();
        prof.enter("forward"); // the kernels switch it to "backward"
        model.forwardBackward(batch, { dropoutRng });
        prof.enter("optimizer");
        adam.update(model.params, model.grads, 1e-4);
        prof.enter(null);
        return performance.now() - t0;
      };
    };
    const mlmStep = stepper(mlmProf, mlm, mlmBatch);
    const clsStep = stepper(clsProf, cls, clsBatch);
    // Alternating (each goes first every other time), so that a change of the machine's load falls on
    // both; the first pair warms up.
    const mlmMs: number[] = [];
    const clsMs: number[] = [];
    for (let i = 0; i < steps + 1; i++) {
      let m: number;
      let c: number;
      if (i % 2 === 0) {
        m = mlmStep();
        c = clsStep();
      } else {
        c = clsStep();
        m = mlmStep();
      }
      if (i === 0) {
        mlmProf.reset();
        clsProf.reset();
        continue;
      }
      mlmMs.push(m);
      clsMs.push(c);
    }
    out.mlmStepMs = median(mlmMs);
    out.finetuneStepMs = median(clsMs);
    out.finetuneOverMlm = out.finetuneStepMs / out.mlmStepMs;
    out.finetuneOverMlmPaired = median(clsMs.map((c, i) => c / mlmMs[i]));
    const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
    for (const [k, v] of Object.entries(mlmProf.figures(steps, sum(mlmMs)))) out[`mlm.${k}`] = v;
    for (const [k, v] of Object.entries(clsProf.figures(steps, sum(clsMs)))) out[`finetune.${k}`] = v;

    // inference throughput: classify and embed over 1,024 subjects in batches of 64, mlm-ts and ONNX
    // Runtime Web alternating (rounds, medians), the same batches of the same classifier
    const n = options.quick ? 256 : 1024;
    const many = encodeLabelled(
      tokenizer,
      texts.slice(0, n).map((text) => ({ text })),
      labels.slice(0, n),
      128,
    );
    const loader = new LabelledLoader(many, { batchSize: 64, maxLen: 128, padId: 0 });
    // the same batches padded to their longest sentence, as ONNX Runtime computes them: how much of a
    // difference is the packing (mlm-ts skips padding rows), how much the kernels
    const padded = new LabelledLoader(many, { batchSize: 64, maxLen: 128, padId: 0, pack: "padded" });
    let realTokens = 0;
    let paddedTokens = 0;
    for (let i = 0; i < loader.batchesPerEpoch; i++) {
      const b = padded.batch(0, i);
      realTokens += b.tokens;
      paddedTokens += b.rows;
    }
    out.paddedOverRealTokens = paddedTokens / realTokens;
    // the classifier's weights on the backend itself (no timing wrapper), for both sides
    const infer = new ClassifierModel(backend, modelConfig, { numLabels: 2, pooling: "cls" }, capacity);
    infer.loadTensors(cls.tensors());
    const onnx = await OnnxClassifier.create(infer.config, infer.tensors(), 2, backend.threads);
    try {
      // the two agree (a check that both run the same model): largest difference on the first batch
      const first = loader.batch(0, 0);
      out.onnxLogitsMaxDiff = maxDiff(infer.logits(first), await onnx.logits(first));
      out.onnxEmbedMaxDiff = maxDiff(infer.embed(first, "mean"), await onnx.embed(first));
      // mlm-ts's batches are views of reused buffers: each is made just before it is used, on both sides
      const rate = async (run: (batch: Batch) => unknown, from = loader): Promise<number> => {
        await run(from.batch(0, 0)); // warm-up
        const t0 = performance.now();
        for (let i = 0; i < from.batchesPerEpoch; i++) await run(from.batch(0, i));
        return n / ((performance.now() - t0) / 1000);
      };
      const rates: Record<string, number[]> = {
        classify: [],
        classifyPadded: [],
        onnxClassify: [],
        embed: [],
        onnxEmbed: [],
      };
      for (let round = 0; round < (options.quick ? 1 : 3); round++) {
        rates.classify.push(await rate((b) => infer.logits(b)));
        rates.onnxClassify.push(await rate((b) => onnx.logits(b)));
        rates.classifyPadded.push(await rate((b) => infer.logits(b), padded));
        rates.embed.push(await rate((b) => infer.embed(b, "mean")));
        rates.onnxEmbed.push(await rate((b) => onnx.embed(b)));
      }
      out.classifySentencesPerSec = median(rates.classify);
      out.onnxClassifySentencesPerSec = median(rates.onnxClassify);
      out.classifyPaddedSentencesPerSec = median(rates.classifyPadded);
      out.embedSentencesPerSec = median(rates.embed);
      out.onnxEmbedSentencesPerSec = median(rates.onnxEmbed);
    } finally {
      await onnx.release();
    }
  } finally {
    backend.dispose();
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, threads: { type: "string" } },
  });
  const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
  const r = await runFinetuneBench({ threads, quick: values.quick });
  for (const model of ["mlm", "finetune"]) {
    process.stderr.write(`== where a ${model === "mlm" ? "masked-LM" : "fine-tuning"} step's time goes ==\n`);
    for (const line of breakdownTable(r, `${model}.`)) process.stderr.write(line + "\n");
  }
  process.stderr.write(
    `fine-tuning step ${r.finetuneStepMs.toFixed(1)} ms vs masked-LM step ${r.mlmStepMs.toFixed(1)} ms of the same 64 sentences ` +
      `(ratio ${r.finetuneOverMlm.toFixed(2)}, paired ${r.finetuneOverMlmPaired.toFixed(2)}, target <= 1); ` +
      `classify ${r.classifySentencesPerSec.toFixed(0)} sentences/s, embed ${r.embedSentencesPerSec.toFixed(0)} sentences/s ` +
      `(${r.threads} threads); ONNX Runtime Web: classify ${r.onnxClassifySentencesPerSec.toFixed(0)}, ` +
      `embed ${r.onnxEmbedSentencesPerSec.toFixed(0)} sentences/s; mlm-ts computing the padding as ONNX Runtime does ` +
      `(${r.paddedOverRealTokens.toFixed(2)}x the tokens): classify ${r.classifyPaddedSentencesPerSec.toFixed(0)} sentences/s\n`,
  );
  process.stdout.write(JSON.stringify(r) + "\n");
}
