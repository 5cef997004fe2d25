/**
 * The page of webgpu-nonfinite.test.ts: `window.trainToNonFinite(text, settings)` trains with the
 * library's `train` on a WebGPU backend, in this page's origin-private file system (the browser
 * platform, as the train page's worker does), until the run stops on a non-finite number; it returns
 * the error and what the run directory holds afterwards.
 */
import { resolveConfig, type TrainConfig } from "../../src/config/index.js";
import { textCorpus } from "../../src/data/index.js";
import { createWebGpuBackend } from "../../src/engine/webgpu/webgpu-backend.js";
import { browserPlatform } from "../../src/platform/browser.js";
import { setPlatform } from "../../src/platform/index.js";
import { listLastCheckpoints, loadCheckpoint, readRunStatus } from "../../src/run/index.js";
import { NonFiniteError, train } from "../../src/train/trainer.js";

/** What the run left: the error, status.json, its latest checkpoints and whether their weights are finite. */
export interface NonFiniteOutcome {
  adapter: string;
  error: { name: string; message: string; step: number | null; tensor: string | null } | null;
  status: { state: string; step: number; message?: string } | null;
  checkpoints: string[];
  finite: boolean;
}

async function trainToNonFinite(text: string, settings: Partial<TrainConfig>): Promise<NonFiniteOutcome> {
  setPlatform(browserPlatform());
  const config = resolveConfig({ ...settings, data: "corpus.txt" });
  const gpu = await createWebGpuBackend();
  let error: NonFiniteOutcome["error"] = null;
  try {
    await train(config, { backend: gpu, corpus: textCorpus("corpus.txt", text) });
  } catch (err) {
    const e = err as Error;
    const known = e instanceof NonFiniteError;
    error = { name: e.name, message: e.message, step: known ? e.step : null, tensor: known ? e.tensor : null };
  } finally {
    gpu.dispose();
  }
  const runDir = config.outDir as string;
  const checkpoints = await listLastCheckpoints(runDir);
  let finite = true;
  for (const dir of checkpoints)
    for (const t of (await loadCheckpoint(dir)).tensors) finite &&= t.data.every((v) => Number.isFinite(v));
  return { adapter: gpu.name, error, status: await readRunStatus(runDir), checkpoints, finite };
}

Object.assign(globalThis, { trainToNonFinite, pageReady: true });
