// Gradients checked against PyTorch, tensor by tensor (as llm.c's test_gpt2 does): for each
// architecture (the tutorial recipe's and the fast recipe's masked language model, and the fine-tuning
// classifier with the tutorial's head on [CLS] and with mean pooling), one fixed batch through mlm-ts's
// model on both kernels (ts and wasm) and through mlm_torch.py's (`gradients`, Debian's python3-torch)
// from the same weights; the loss, the logits (every real token's, or every sentence's classes) and
// every parameter's gradient (encoder and head) must agree within the tolerances below, and so must the
// losses of 10 updates (clipping, then Adam) on that batch. Dropout is 0 (the two sides draw different
// masks). One Python process per architecture, about 2 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfig } from "../../src/config/index.js";
import { batchOf, IGNORE_LABEL, type Batch } from "../../src/data/index.js";
import { createBackend } from "../../src/engine/create.js";
import { fromTorchLayout, npyInt32, pythonTrainerPath, toTorchLayout } from "../../src/interop/index.js";
import { ClassifierModel, MlmModel, modelConfigOf, type ModelConfig, type Pooling } from "../../src/model/index.js";
import { readSafetensors, writeSafetensors } from "../../src/run/index.js";
import { Adam } from "../../src/train/optimizer.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "../temp-dir.js";
import { FAST_ARCHITECTURE, python } from "./tiny-interop-run.js";

/** Small enough for a second per side, large enough that every kernel takes its blocked paths. */
const SIZE: Partial<TrainConfig> = { vocabSize: 97, dModel: 32, numLayers: 2, numHeads: 4, dFF: 64, maxLen: 16 };
const NO_DROPOUT: Partial<TrainConfig> = { dropout: 0 };
/** The classifier's classes in the test (its head's output size). */
const NUM_LABELS = 3;
/** What is trained: the masked language model, or a classifier with its pooling (mlm_torch.py's `--task`). */
type Task = { kind: "mlm" } | { kind: "classify"; pooling: Pooling };
const ARCHITECTURES: readonly { name: string; options: Partial<TrainConfig>; task: Task }[] = [
  { name: "tutorial (post-norm, ReLU, sinusoidal, own output)", options: {}, task: { kind: "mlm" } },
  {
    name: "fast (pre-norm, GELU, learned positions, tied output)",
    options: FAST_ARCHITECTURE,
    task: { kind: "mlm" },
  },
  {
    name: "classifier, the tutorial's head on [CLS] (post-norm, ReLU)",
    options: {},
    task: { kind: "classify", pooling: "cls" },
  },
  {
    name: "classifier, mean pooling (fast: pre-norm, GELU, learned positions)",
    options: FAST_ARCHITECTURE,
    task: { kind: "classify", pooling: "mean" },
  },
];
/** The optimizer of the 10 updates (config.json's "train" for mlm_torch.py). */
const TRAIN = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, gradClip: 1 };
const STEPS = 10;
const MASK_ID = 3;
const CLS_ID = 1;

/**
 * Tolerances, each the largest |mlm-ts - PyTorch| divided by the largest |PyTorch| value of the tensor
 * (loss: divided by the loss). Both sides compute in float32 in different orders (blocked products,
 * fused multiply-adds on wasm, PyTorch's BLAS), so they differ by rounding; a wrong formula, a missing
 * term or a transposed weight gives errors of order 1. Largest errors measured (x86-64, torch 1.13,
 * the two masked language models, ts / wasm kernels): loss 6e-8 / 6e-8, logits 6e-7 / 6e-7, gradients
 * 1.7e-6 / 2.4e-6 (the first layer's attention; others below 1e-6), losses of the 10 updates 1.3e-7 /
 * 1.3e-7; the two classifiers: loss 9e-8 / 7e-8, gradients 1.1e-6 / 9e-7 (classifier.ln.scale), losses
 * of the 10 updates 5e-7 / 7e-7. The tolerances leave about 10 times that.
 */
const TOLERANCE = {
  loss: 1e-6,
  logits: 1e-5,
  gradient: 3e-5,
  /** The losses after each of the 10 updates, divided by the largest of PyTorch's. */
  trainedLoss: 1e-5,
  /**
   * The key projection's bias: its exact gradient is 0 (it adds q . b_k to every score of a query,
   * which the softmax ignores), so both sides hold rounding noise, compared with the largest
   * gradient of the whole model instead (measured below 1e-7 of it).
   */
  zeroGradient: 1e-5,
} as const;

/** Tensors whose exact gradient is zero (see TOLERANCE.zeroGradient). */
const ZERO_GRADIENT = /^layers\.\d+\.attn\.k\.bias$/;

/** Four sentences of different lengths, random ids, some tokens masked and labelled (each sentence one at least). */
function fixedSentences(V: number): { ids: number[]; labels: number[] }[] {
  const rng = new Rng(11);
  return [9, 5, 14, 3].map((length) => {
    const ids: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < length; i++) {
      const id = 5 + rng.int(V - 5);
      const labelled = i === 1 || (i > 0 && i < length - 1 && rng.float() < 0.3);
      ids.push(labelled && rng.float() < 0.8 ? MASK_ID : id);
      labels.push(labelled ? id : IGNORE_LABEL);
    }
    return { ids, labels };
  });
}

/**
 * Four sentences of different lengths, [CLS] then random ids, each sentence's class on its first row
 * (where mlm-ts's classifier batches carry it, and mlm_torch.py's `classify` task reads it).
 */
function fixedLabelledSentences(V: number): { ids: number[]; labels: number[] }[] {
  const rng = new Rng(13);
  return [9, 5, 14, 3].map((length, b) => {
    const ids = [CLS_ID, ...Array.from({ length: length - 1 }, () => 5 + rng.int(V - 5))];
    const labels = ids.map((_, i) => (i === 0 ? b % NUM_LABELS : IGNORE_LABEL));
    return { ids, labels };
  });
}

/** The sentences padded to the longest, as mlm_torch.py reads them: ids, mask, labels [B, L] (.npy). */
function writeBatch(dir: string, sentences: { ids: number[]; labels: number[] }[]): void {
  const L = Math.max(...sentences.map((s) => s.ids.length));
  const shape = [sentences.length, L];
  const ids = new Int32Array(sentences.length * L);
  const mask = new Int32Array(sentences.length * L);
  const labels = new Int32Array(sentences.length * L).fill(IGNORE_LABEL);
  sentences.forEach((s, b) => {
    ids.set(s.ids, b * L);
    labels.set(s.labels, b * L);
    mask.fill(1, b * L, b * L + s.ids.length);
  });
  writeFileSync(join(dir, "ids.npy"), Buffer.concat(npyInt32(ids, shape)));
  writeFileSync(join(dir, "mask.npy"), Buffer.concat(npyInt32(mask, shape)));
  writeFileSync(join(dir, "labels.npy"), Buffer.concat(npyInt32(labels, shape)));
}

/** What one side computed. */
interface Reference {
  loss: number;
  logits: Float32Array;
  /** Gradients by mlm-ts name, in mlm-ts's layout. */
  grads: Map<string, Float32Array>;
  losses: number[];
}

/** Either model: the masked language model or the classifier, as the test drives them. */
type AnyModel = MlmModel | ClassifierModel;

/** A model of `task` on `backend`, with room for `batch`. */
function makeModel(
  backend: Awaited<ReturnType<typeof createBackend>>,
  config: ModelConfig,
  task: Task,
  batch: Batch,
): AnyModel {
  const capacity = { maxRows: batch.rows, maxSeqs: batch.numSeqs };
  return task.kind === "mlm"
    ? new MlmModel(backend, config, capacity)
    : new ClassifierModel(backend, config, { numLabels: NUM_LABELS, pooling: task.pooling }, capacity);
}

/** The classifier's entries of config.json (run/task-record.ts), which mlm_torch.py builds its head from. */
function taskRecord(task: Task): Record<string, unknown> {
  if (task.kind === "mlm") return {};
  const id2label = Array.from({ length: NUM_LABELS }, (_, i) => `class${i}`);
  return { task: "text-classification", classifier: { id2label, pooling: task.pooling } };
}

/** mlm_torch.py's answer for the weights of `model`. */
function pytorchReference(dir: string, model: AnyModel, task: Task): Reference {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: model.config, train: TRAIN, ...taskRecord(task) }));
  writeFileSync(
    join(dir, "model.safetensors"),
    Buffer.concat(writeSafetensors(toTorchLayout(model.specs, model.tensors()))),
  );
  python(
    ["-B", pythonTrainerPath(), "gradients", dir, dir, join(dir, "out"), "--steps", String(STEPS), "--task", task.kind],
    ["numpy", "torch"],
  );
  const file = join(dir, "out", "gradients.safetensors");
  const tensors = readSafetensors(readFileSync(file), file);
  const grads = fromTorchLayout(model.specs, tensors, file, "grad.");
  const { loss, losses } = JSON.parse(readFileSync(join(dir, "out", "gradients.json"), "utf8")) as {
    loss: number;
    losses: number[];
  };
  return {
    loss,
    logits: tensors.get("logits")!.data,
    grads: new Map(grads.map((g) => [g.name, Float32Array.from(g.data)])),
    losses,
  };
}

/** mlm-ts's answer on `kernels`, from the weights `tensors`. */
async function mlmTsReference(
  kernels: "ts" | "wasm",
  config: ModelConfig,
  task: Task,
  tensors: ReturnType<MlmModel["tensors"]>,
  batch: Batch,
): Promise<Reference> {
  const backend = await createBackend(kernels, 2);
  try {
    const model = makeModel(backend, config, task, batch);
    model.loadTensors(tensors);
    const first = model.forwardBackward(batch, { train: false });
    const grads = new Map(model.specs.map((s) => [s.name, model.grads.slice(s.offset, s.offset + s.size)]));
    // a copy: the view is the head's buffer, which the next pass overwrites; [rows, V] or [B, N]
    const logits = Float32Array.from(
      model instanceof MlmModel
        ? model.logits(
            batch,
            Array.from({ length: batch.rows }, (_, r) => r),
          )
        : model.logits(batch),
    );
    const adam = new Adam(backend, model.params.length, {
      beta1: TRAIN.beta1,
      beta2: TRAIN.beta2,
      eps: TRAIN.adamEps,
      maxGradNorm: TRAIN.gradClip,
      weightDecay: 0,
    });
    const losses: number[] = [];
    for (let step = 1; step <= STEPS; step++) {
      adam.update(model.params, model.grads, TRAIN.learningRate);
      losses.push(model.forwardBackward(batch, { train: false }).loss);
    }
    return { loss: first.loss, logits, grads, losses };
  } finally {
    backend.dispose();
  }
}

/** max |x|. */
function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** max |a - b| / max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? worst : worst / scale;
}

for (const arch of ARCHITECTURES) {
  test(`${arch.name}: loss, logits, every gradient and 10 updates' losses match PyTorch, ts and wasm kernels`, async (t) => {
    const dir = tempDir("mlm-gradients-");
    const config = modelConfigOf({ ...SIZE, ...arch.options, ...NO_DROPOUT });
    const sentences = (arch.task.kind === "mlm" ? fixedSentences : fixedLabelledSentences)(config.vocabSize);
    writeBatch(dir, sentences);
    const batch = batchOf(sentences);
    const init = makeModel(await createBackend("ts", 1), config, arch.task, batch);
    init.init(new Rng(5));
    const tensors = init.tensors().map((x) => ({ ...x, data: Float32Array.from(x.data) }));
    const torch = pytorchReference(dir, init, arch.task);
    for (const kernels of ["ts", "wasm"] as const) {
      const ours = await mlmTsReference(kernels, config, arch.task, tensors, batch);
      const report: string[] = [];
      const check = (what: string, error: number, tolerance: number): void => {
        report.push(`${what} ${error.toExponential(1)}`);
        assert.ok(error <= tolerance, `${kernels} kernels, ${what}: relative error ${error} > ${tolerance}`);
      };
      check("loss", Math.abs(ours.loss - torch.loss) / torch.loss, TOLERANCE.loss);
      check("logits", relativeError(ours.logits, torch.logits), TOLERANCE.logits);
      const largest = Math.max(...[...torch.grads.values()].map(maxAbs));
      for (const [name, want] of torch.grads) {
        const got = ours.grads.get(name)!;
        if (ZERO_GRADIENT.test(name))
          check(`|d ${name}|`, Math.max(maxAbs(got), maxAbs(want)) / largest, TOLERANCE.zeroGradient);
        else check(`d ${name}`, relativeError(got, want), TOLERANCE.gradient);
      }
      assert.equal(ours.losses.length, STEPS);
      check("losses of 10 updates", relativeError(ours.losses, torch.losses), TOLERANCE.trainedLoss);
      t.diagnostic(`${kernels}: ${report.join(", ")}`);
    }
  });
}
