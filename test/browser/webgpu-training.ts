/**
 * The training run of webgpu-training.test.ts, the same code in Node (WebAssembly backend) and in the
 * page (WebGPU backend): a small model of each architecture option set, fixed-seed synthetic batches
 * (Zipf-like token ids, 15% of the tokens masked, some sentences padded), dropout on, two accumulated
 * micro-batches per step, Adam with clipping. `trainRun` returns every step's loss and gradient norm,
 * and can stop after some steps with a checkpoint (the parameters, Adam's state and the dropout
 * generator's) and resume from one.
 */
import type { Backend } from "../../src/engine/backend.js";
import { gpuOptimizerStep } from "../../src/engine/webgpu/optimizer-step.js";
import { WebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { batchOf, type SentenceRow } from "../../src/data/collate.js";
import type { Batch } from "../../src/data/batch.js";
import { MlmModel } from "../../src/model/model.js";
import type { ModelConfig } from "../../src/model/config.js";
import { Adam } from "../../src/train/optimizer.js";
import { Rng, type RngState } from "../../src/util/rng.js";

export const STEPS = 20;
const SEED = 11;
const VOCAB = 120;
const MASK_ID = 3;
const SENTENCES = 6;
const WIDTH = 24;

/** The architectures trained: the tutorial's (post-norm, ReLU, untied) and the other options. */
export const CONFIGS: Record<string, Partial<ModelConfig>> = {
  tutorial: { vocabSize: VOCAB, dModel: 32, numHeads: 4, dFF: 64, numLayers: 2, maxLen: WIDTH, dropout: 0.1 },
  "pre-norm, GELU, tied, learned positions": {
    vocabSize: VOCAB,
    dModel: 32,
    numHeads: 2,
    dFF: 48,
    numLayers: 2,
    maxLen: WIDTH,
    dropout: 0.1,
    norm: "pre",
    activation: "gelu",
    tieOutput: true,
    positions: "learned",
  },
};

/** Micro-batch `k` of the run: the same sentences on every backend. Every other one is padded to WIDTH. */
function batchAt(k: number): Batch {
  const rng = Rng.derive(SEED, `batch ${k}`);
  const rows: SentenceRow[] = [];
  for (let s = 0; s < SENTENCES; s++) {
    const length = 6 + rng.int(WIDTH - 6);
    const ids: number[] = [];
    const labels: number[] = [];
    for (let j = 0; j < length; j++) {
      const id = 5 + Math.floor((VOCAB - 5) * rng.float() ** 3);
      const masked = j > 0 && rng.float() < 0.15;
      ids.push(masked ? MASK_ID : id);
      labels.push(masked ? id : -100);
    }
    rows.push({ ids, labels });
  }
  return batchOf(rows, k % 2 === 0 ? { width: WIDTH, pack: "padded" } : {});
}

/** Where a stopped run continues from: copies of the parameters and Adam's moments, the counters. */
export interface Checkpoint {
  step: number;
  params: { name: string; shape: number[]; data: number[] }[];
  m: number[];
  v: number[];
  dropout: RngState;
}

export interface RunResult {
  losses: number[];
  gradNorms: number[];
  checkpoint: Checkpoint | null;
}

/**
 * Trains `config` from a fixed-seed initialisation (or `resume`) up to step `until`; with `stopAt`,
 * returns a checkpoint taken after that step instead of going on.
 */
export async function trainRun(
  backend: Backend,
  config: Partial<ModelConfig>,
  options: { until: number; stopAt?: number; resume?: Checkpoint },
): Promise<RunResult> {
  const gpu = backend instanceof WebGpuBackend ? backend : null;
  const model = new MlmModel(backend, config, { maxRows: SENTENCES * WIDTH, maxSeqs: SENTENCES, accumulate: true });
  const adam = new Adam(backend, model.params.length, { maxGradNorm: 1 });
  const resume = options.resume;
  const dropoutRng = Rng.derive(SEED, "dropout");
  if (resume === undefined) {
    model.init(Rng.derive(SEED, "init"));
    gpu?.upload(model.params); // the initialisation writes element by element
  } else {
    model.loadTensors(resume.params);
    adam.setState({ step: resume.step, m: resume.m, v: resume.v });
    dropoutRng.setState(resume.dropout);
  }
  const result: RunResult = { losses: [], gradNorms: [], checkpoint: null };
  const last = options.stopAt ?? options.until;
  for (let step = (resume?.step ?? 0) + 1; step <= last; step++) {
    for (const k of [2 * step, 2 * step + 1])
      model.forwardBackward(batchAt(k), { dropoutRng, accumulate: true, fullHead: step % 3 === 0 });
    const { loss, count } = model.endAccumulation();
    const lr = 1e-3;
    const figures =
      gpu === null
        ? { loss, gradNorm: adam.update(model.params, model.grads, lr).gradNorm }
        : await gpuOptimizerStep(gpu, model, adam, lr, count, null);
    result.losses.push(figures.loss);
    result.gradNorms.push(figures.gradNorm);
  }
  if (options.stopAt !== undefined) {
    await gpu?.read([model.params, adam.m, adam.v]);
    result.checkpoint = {
      step: adam.step,
      params: model.tensors().map((t) => ({ name: t.name, shape: t.shape, data: Array.from(t.data) })),
      m: Array.from(adam.m.subarray(0, adam.size)),
      v: Array.from(adam.v.subarray(0, adam.size)),
      dropout: dropoutRng.state(),
    };
  }
  return result;
}
