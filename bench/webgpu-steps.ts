/**
 * The timed training steps of the WebGPU bench, the same code on any backend (WebAssembly in Node,
 * WebGPU in a page): the tutorial's model (the configuration's defaults: vocabulary 25000, 6 layers,
 * d_model 128) on fixed-seed synthetic batches of the default size (64 sentences of 8 to 40 tokens,
 * unpadded, 15% masked), dropout on, Adam with clipping. On WebGPU a step is recorded and submitted
 * once (gpuOptimizerStep), its loss read back, so its time is the GPU's whole step.
 *
 * @example
 *   const t = await timeTrainingSteps(await createBackend("wasm", 0), { steps: 10, warmup: 2 });
 *   console.log(t.msPerStepMedian);
 */
import type { Backend } from "../src/engine/backend.js";
import { gpuOptimizerStep } from "../src/engine/webgpu/optimizer-step.js";
import { WebGpuBackend } from "../src/engine/webgpu/webgpu-backend.js";
import { batchOf, type SentenceRow } from "../src/data/collate.js";
import type { Batch } from "../src/data/batch.js";
import { MlmModel } from "../src/model/model.js";
import { Adam } from "../src/train/optimizer.js";
import { Rng } from "../src/util/rng.js";

const SENTENCES = 64;
const LONGEST = 40;
const VOCAB = 25000;

/** Synthetic batch k: the same on every backend. */
function batchAt(k: number): Batch {
  const rng = Rng.derive(1, `bench batch ${k}`);
  const rows: SentenceRow[] = [];
  for (let s = 0; s < SENTENCES; s++) {
    const length = 8 + rng.int(LONGEST - 7);
    const ids: number[] = [];
    const labels: number[] = [];
    for (let j = 0; j < length; j++) {
      const id = 5 + rng.int(VOCAB - 5);
      const masked = rng.float() < 0.15;
      ids.push(masked ? 3 : id);
      labels.push(masked ? id : -100);
    }
    rows.push({ ids, labels });
  }
  return batchOf(rows);
}

export interface StepTiming {
  backend: string;
  /** Median wall time of a whole step (passes, clipping, Adam; on WebGPU until its loss is read back). */
  msPerStepMedian: number;
  /** The steps' losses (the same run on every backend, up to float32 rounding). */
  losses: number[];
}

export async function timeTrainingSteps(
  backend: Backend,
  options: { steps: number; warmup: number },
): Promise<StepTiming> {
  const gpu = backend instanceof WebGpuBackend ? backend : null;
  const model = new MlmModel(backend, { vocabSize: VOCAB }, { maxRows: SENTENCES * LONGEST, maxSeqs: SENTENCES });
  model.init(Rng.derive(1, "init"));
  gpu?.upload(model.params);
  const adam = new Adam(backend, model.params.length);
  const dropoutRng = Rng.derive(1, "dropout");
  const times: number[] = [];
  const losses: number[] = [];
  for (let step = 0; step < options.warmup + options.steps; step++) {
    const batch = batchAt(step);
    const t0 = performance.now();
    const { loss, count } = model.forwardBackward(batch, { dropoutRng });
    const lr = 3e-4;
    losses.push(
      gpu === null
        ? (adam.update(model.params, model.grads, lr), loss)
        : (await gpuOptimizerStep(gpu, model, adam, lr, count, null)).loss,
    );
    if (step >= options.warmup) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 === 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { backend: backend.name, msPerStepMedian: median, losses };
}
