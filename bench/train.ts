/**
 * Training-step benchmark on the real data: the bundled Tatoeba English, the tutorial's 5% sample
 * and batch order, the tutorial's model. One configuration per process, so that its peak memory
 * (max RSS) is its own.
 *
 *   node dist/bench/train.js --mode default  [--backend wasm|ts] [--threads N] [--steps 30] [--profile]
 *                            [--recipe tutorial|fast] [--sample FRACTION]
 *   node dist/bench/train.js --mode tutorial ...   padded to 128, head on every position, padding computed
 *   node dist/bench/train.js --schedule ...        the tutorial's whole schedule (30 epochs, evaluations)
 *
 * `--profile` adds where a step's time goes (kernel categories per phase, see profile.ts) to the figures.
 * Prints one JSON line on stdout.
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { resolveConfig, type TrainConfig } from "../src/config/index.js";
import { RECIPE_NAMES, type RecipeName } from "../src/config/recipes.js";
import { setCliEngineFlags } from "../src/cli/engine-flags.js";
import { createBackend } from "../src/engine/create.js";
import { Rng } from "../src/util/rng.js";
import { buildModel, capacityFor } from "../src/model/index.js";
import { adamFor } from "../src/train/optimizer.js";
import { prepareData, runLoaders } from "../src/data/index.js";
import { modelConfigFrom } from "../src/run/index.js";
import { train } from "../src/train/trainer.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StepProfiler } from "./profile.js";

/** "default": the project's defaults; "tutorial": padded to 128, head everywhere, padding computed. */
export type BenchMode = "default" | "tutorial";

/** Figures of one configuration (medians over the timed steps). */
export interface TrainBenchResult {
  mode: BenchMode;
  backend: string;
  threads: number;
  steps: number;
  msPerStepMedian: number;
  realTokensPerSec: number;
  paddedTokensPerSec: number;
  evalMsPerBatch: number;
  peakRssMiB: number;
  /** With `profile`: the step-time breakdown (`StepProfiler.figures`), ms per step and shares. */
  [profileKey: `profile.${string}`]: number;
}

/** The settings of each mode: the project's defaults, or the tutorial's way of computing. */
export function modeConfig(
  mode: BenchMode,
  backend: "wasm" | "ts",
  threads: number,
  recipe: RecipeName = "tutorial",
  sample?: number,
): TrainConfig {
  const tutorial = mode === "tutorial";
  return resolveConfig({
    recipe,
    ...(sample === undefined ? {} : { sample }),
    backend,
    threads,
    progress: false,
    padToMax: tutorial,
    fullHead: tutorial,
    computePadding: tutorial,
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `steps` training steps (after `warmup`) and a few evaluation batches, in the tutorial's batch order. */
export async function benchTrainSteps(
  mode: BenchMode,
  backendKind: "wasm" | "ts",
  threads: number,
  steps: number,
  warmup: number,
  profile = false,
  recipe: RecipeName = "tutorial",
  sample?: number,
): Promise<TrainBenchResult> {
  const config = modeConfig(mode, backendKind, threads, recipe, sample);
  const data = await prepareData(config, () => {});
  const tok = data.tokenizer;
  const { train: trainLoader, valid: validLoader } = runLoaders(config, tok, data.train, data.valid);
  const inner = await createBackend(backendKind, threads);
  // Profiled, the model and the optimizer call the kernels through the timing wrapper.
  const prof = profile ? new StepProfiler(inner) : null;
  const { model, backend, dispose } = await buildModel({
    config: modelConfigFrom(config, tok.vocabSize),
    capacity: capacityFor([trainLoader, validLoader]),
    backend: prof?.backend ?? inner,
    threads,
    weights: Rng.derive(config.seed, "init"),
  });
  try {
    const adam = adamFor(backend, model, config);
    const dropoutRng = Rng.derive(config.seed, "dropout");
    const ms: number[] = [];
    let real = 0;
    let padded = 0;
    let seconds = 0;
    for (let i = 0; i < warmup + steps; i++) {
      // Timed as the trainer's step is: batch collation and masking included.
      const t0 = performance.now();
      prof?.enter("data");
      const { batch } = trainLoader.next();
      prof?.enter("forward"); // the kernels switch it to "backward" (see profile.ts)
      model.forwardBackward(batch, { train: true, dropoutRng, fullHead: config.fullHead });
      prof?.enter("optimizer");
      adam.update(model.params, model.grads, config.learningRate);
      prof?.enter(null);
      const dt = performance.now() - t0;
      if (i < warmup) {
        prof?.reset();
        continue;
      }
      ms.push(dt);
      seconds += dt / 1000;
      real += batch.tokens;
      padded += batch.numSeqs * batch.width;
    }
    const evalBatches = Math.min(validLoader.batchesPerEpoch, 5);
    const evalMs: number[] = [];
    for (let i = 0; i < evalBatches; i++) {
      const t0 = performance.now();
      model.evaluate(validLoader.batch(0, i), { fullHead: config.fullHead });
      evalMs.push(performance.now() - t0);
    }
    return {
      mode,
      backend: backend.name,
      threads: backend.threads,
      steps,
      msPerStepMedian: median(ms),
      realTokensPerSec: real / seconds,
      paddedTokensPerSec: padded / seconds,
      evalMsPerBatch: median(evalMs),
      // The whole process's peak: it includes training the tokenizer in prepareData (about 150-175 MiB alone).
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      ...prof?.figures(steps, seconds * 1000),
    };
  } finally {
    dispose();
    inner.dispose();
  }
}

/** The tutorial's whole schedule with the project's defaults: 30 epochs, evaluation every 500 steps. */
export async function benchSchedule(
  backendKind: "wasm" | "ts",
  threads: number,
): Promise<Record<string, number | string>> {
  // The run directory (checkpoints with optimizer state, about 100 MB) is only a by-product here.
  const out = mkdtempSync(join(tmpdir(), "mlm-bench-schedule-"));
  try {
    const config = resolveConfig({ backend: backendKind, threads, progress: false, outDir: out });
    const t0 = performance.now();
    const s = await train(config);
    return {
      scheduleSteps: s.steps,
      scheduleWallSeconds: (performance.now() - t0) / 1000,
      scheduleBestValidLoss: s.bestValidLoss ?? Number.NaN,
      scheduleMsPerStep: s.msPerStep,
      schedulePeakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function checkRecipe(name: string): RecipeName {
  const found = RECIPE_NAMES.find((r) => r === name);
  if (found === undefined) throw new Error(`--recipe must be one of ${RECIPE_NAMES.join(", ")}, got ${name}`);
  return found;
}

async function main(): Promise<void> {
  setCliEngineFlags(); // the kernels run as under the mlm command
  const { values } = parseArgs({
    options: {
      mode: { type: "string", default: "default" },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string", default: "0" },
      steps: { type: "string", default: "30" },
      warmup: { type: "string", default: "3" },
      schedule: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      recipe: { type: "string", default: "tutorial" },
      sample: { type: "string" },
    },
  });
  const backend = values.backend === "ts" ? "ts" : "wasm";
  const threads = Number(values.threads);
  if (values.schedule) {
    const r = await benchSchedule(backend, threads);
    process.stdout.write(JSON.stringify({ backend, ...r }) + "\n");
    return;
  }
  if (values.mode !== "default" && values.mode !== "tutorial")
    throw new Error(`--mode must be default or tutorial, got ${values.mode}`);
  const r = await benchTrainSteps(
    values.mode,
    backend,
    threads,
    Number(values.steps),
    Number(values.warmup),
    values.profile,
    checkRecipe(values.recipe),
    values.sample === undefined ? undefined : Number(values.sample),
  );
  process.stdout.write(JSON.stringify(r) + "\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`bench/train: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
