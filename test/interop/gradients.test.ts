// Gradients checked against PyTorch, tensor by tensor (as llm.c's test_gpt2 does): for each
// architecture (the tutorial recipe's and the fast recipe's), one fixed batch through mlm-ts's model
// on both kernels (ts and wasm) and through mlm_torch.py's (`gradients`, Debian's python3-torch) from
// the same weights; the loss, the logits at every real token and every parameter's gradient must agree
// within the tolerances below, and so must the losses of 10 updates (clipping, then Adam) on that batch.
// Dropout is 0 (the two sides draw different masks). One Python process per architecture, about 2 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfig } from "../../src/config/index.js";
import { batchOf, IGNORE_LABEL, type Batch } from "../../src/data/index.js";
import { createBackend } from "../../src/engine/create.js";
import { fromTorchLayout, npyInt32, pythonTrainerPath, toTorchLayout } from "../../src/interop/index.js";
import { MlmModel, modelConfigOf, type ModelConfig } from "../../src/model/index.js";
import { readSafetensors, writeSafetensors } from "../../src/run/index.js";
import { Adam } from "../../src/train/optimizer.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "../temp-dir.js";
import { FAST_ARCHITECTURE, python } from "./tiny-interop-run.js";

/** Small enough for a second per side, large enough that every kernel takes its blocked paths. */
const SIZE: Partial<TrainConfig> = { vocabSize: 97, dModel: 32, numLayers: 2, numHeads: 4, dFF: 64, maxLen: 16 };
const NO_DROPOUT: Partial<TrainConfig> = { dropout: 0 };
const ARCHITECTURES: readonly { name: string; options: Partial<TrainConfig> }[] = [
  { name: "tutorial (post-norm, ReLU, sinusoidal, own output)", options: {} },
  { name: "fast (pre-norm, GELU, learned positions, tied output)", options: FAST_ARCHITECTURE },
];
/** The optimizer of the 10 updates (config.json's "train" for mlm_torch.py). */
const TRAIN = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, gradClip: 1 };
const STEPS = 10;
const MASK_ID = 3;

/**
 * Tolerances, each the largest |mlm-ts - PyTorch| divided by the largest |PyTorch| value of the tensor
 * (loss: divided by the loss). Both sides compute in float32 in different orders (blocked products,
 * fused multiply-adds on wasm, PyTorch's BLAS), so they differ by rounding; a wrong formula, a missing
 * term or a transposed weight gives errors of order 1. Largest errors measured (x86-64, torch 1.13,
 * both architectures, ts / wasm kernels): loss 6e-8 / 6e-8, logits 6e-7 / 6e-7, gradients 1.7e-6 /
 * 2.4e-6 (the first layer's attention; others below 1e-6), losses of the 10 updates 1.3e-7 / 1.3e-7.
 * The tolerances leave about 10 times that.
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

/** mlm_torch.py's answer for the weights of `model`. */
function pytorchReference(dir: string, model: MlmModel): Reference {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: model.config, train: TRAIN }));
  writeFileSync(
    join(dir, "model.safetensors"),
    Buffer.concat(writeSafetensors(toTorchLayout(model.specs, model.tensors()))),
  );
  python(
    ["-B", pythonTrainerPath(), "gradients", dir, dir, join(dir, "out"), "--steps", String(STEPS)],
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
  tensors: ReturnType<MlmModel["tensors"]>,
  batch: Batch,
): Promise<Reference> {
  const backend = await createBackend(kernels, 2);
  try {
    const model = new MlmModel(backend, config, { maxRows: batch.rows, maxSeqs: batch.numSeqs });
    model.loadTensors(tensors);
    const first = model.forwardBackward(batch, { train: false });
    const grads = new Map(model.specs.map((s) => [s.name, model.grads.slice(s.offset, s.offset + s.size)]));
    // a copy: the view is the head's buffer, which the next pass overwrites
    const logits = Float32Array.from(
      model.logits(
        batch,
        Array.from({ length: batch.rows }, (_, r) => r),
      ),
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
    const sentences = fixedSentences(config.vocabSize);
    writeBatch(dir, sentences);
    const batch = batchOf(sentences);
    const init = new MlmModel(await createBackend("ts", 1), config, { maxRows: batch.rows, maxSeqs: batch.numSeqs });
    init.init(new Rng(5));
    const tensors = init.tensors().map((x) => ({ ...x, data: Float32Array.from(x.data) }));
    const torch = pytorchReference(dir, init);
    for (const kernels of ["ts", "wasm"] as const) {
      const ours = await mlmTsReference(kernels, config, tensors, batch);
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
