/**
 * The loop's checkpoints: `best/` when an evaluation beats the best so far (for inference, without
 * Adam's moments), and `last-<step>/` (everything a resume needs) after each evaluation, when
 * --save-steps or --save-minutes asks, and at the end; only the newest --keep-last are kept. Weights
 * that are not all finite are never written.
 *
 * @example
 *   const saver = new CheckpointSaver({ config, run, task, adam }, resumed ? state.step : null);
 *   if (saver.saveDue(state.step)) await saver.saveLatest(snapshot(state));
 */
import type { TrainConfig } from "../config/index.js";
import type { RunDirectory } from "../run/index.js";
import { webGpuOf } from "./gpu-step.js";
import { checkFiniteParams } from "./health.js";
import type { Adam } from "./optimizer.js";
import type { TaskMetrics, TrainingTask } from "./task.js";
import type { TrainState } from "./train-state.js";

/** What a checkpoint is made of. */
export interface CheckpointParts<B, M extends TaskMetrics<M>> {
  config: TrainConfig;
  run: RunDirectory;
  task: TrainingTask<B, M>;
  adam: Adam;
}

/** Writes a run's checkpoints; see the module comment. */
export class CheckpointSaver<B, M extends TaskMetrics<M>> {
  /** When the last latest checkpoint was written (performance.now() ms), for --save-minutes. */
  private lastSave = performance.now();
  /** The step whose parameters were last found finite (each checkpoint checks them once per step). */
  private finiteStep = -1;

  constructor(
    private readonly parts: CheckpointParts<B, M>,
    /** The step of the newest latest checkpoint, written or resumed from (null: none yet). */
    private latest: number | null,
  ) {}

  /** The step of the newest latest checkpoint (null: none, e.g. with --keep-last 0). */
  get latestStep(): number | null {
    return this.latest;
  }

  /** Whether --save-steps or --save-minutes asks for a latest checkpoint at `step`. */
  saveDue(step: number): boolean {
    const { saveSteps, saveMinutes } = this.parts.config;
    if (this.latest === step) return false;
    return (
      (saveSteps > 0 && step % saveSteps === 0) ||
      (saveMinutes > 0 && performance.now() - this.lastSave >= saveMinutes * 60_000)
    );
  }

  /** Writes `best/`: the weights and state, without Adam's moments. */
  async saveBest(state: TrainState<M>): Promise<void> {
    await this.write(this.parts.run.bestDir, state, false);
  }

  /** Writes `last-<step>` (when --keep-last > 0) and deletes the older ones beyond the limit. */
  async saveLatest(state: TrainState<M>): Promise<void> {
    const { config, run } = this.parts;
    this.lastSave = performance.now();
    if (config.keepLast === 0) return;
    await this.write(run.lastDir(state.step), state, true);
    await run.pruneLastCheckpoints(config.keepLast);
    this.latest = state.step;
  }

  /** Everything needed to resume exactly: weights, Adam moments (unless not `withOptimizer`), the state. */
  private async write(dir: string, state: TrainState<M>, withOptimizer: boolean): Promise<void> {
    const { config, run, task, adam } = this.parts;
    // Weights that are not all finite are never written (a NonFiniteError names the first bad one).
    if (this.finiteStep !== state.step) {
      // WebGPU: the parameters and moments live on the GPU; their CPU copies are refreshed once per step
      const gpu = webGpuOf(task.backend);
      if (gpu !== null) await gpu.read([task.model.params, adam.m, adam.v]);
      checkFiniteParams(state.step, task.model.specs, task.model.params);
      this.finiteStep = state.step;
    }
    await run.saveCheckpoint(dir, {
      config,
      ...task.checkpointContents(),
      state,
      optimizer: withOptimizer
        ? [
            { name: "adam.m", shape: [adam.m.length], data: adam.m },
            { name: "adam.v", shape: [adam.v.length], data: adam.v },
          ]
        : undefined,
    });
  }
}
