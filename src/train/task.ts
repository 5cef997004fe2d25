/**
 * What a training task supplies to the loop (loop.ts): its batches, its model's forward and backward
 * pass with the task's head and loss, its evaluation and the metric that picks the best checkpoint.
 * The loop owns everything else: steps, clipping, the learning rate, Adam, logging, checkpoints,
 * the time budget, interrupts. The masked language model (mlm-task.ts) is one task; a classifier
 * fine-tuned on labelled sentences is another, with the same loop.
 *
 * A task is made in two stages by its `TaskKind`: `prepare` reads the data (and, for a new run,
 * saves the tokenizer and the configuration), then `build` puts the model on its backend with fresh
 * or checkpointed weights once the trainer knows which (trainer.ts).
 *
 * @example
 *   const data = await mlmTask.prepare({ config, run, newRun: { corpusFingerprint: null }, log });
 *   const task = await mlmTask.build({ config, data, weights: null });
 *   const { batch } = task.train.next();
 *   task.forwardBackward(batch, dropoutRng);
 *   const { loss } = task.endAccumulation(); // task.model.grads now holds d loss / d params
 */
import type { TrainConfig } from "../config/index.js";
import type { Backend } from "../engine/backend.js";
import type { InMemoryCorpus, LoaderPosition } from "../data/index.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";
import type { ModelConfig, NamedTensor, ParamSpec } from "../model/index.js";
import type { RunDirectory } from "../run/index.js";
import type { Rng } from "../util/rng.js";
import type { StateMetricKeys } from "./train-state.js";

/** An endless stream of training batches in epochs, whose position a checkpoint saves and restores. */
export interface BatchStream<B> {
  readonly batchesPerEpoch: number;
  /** The next batch and the (0-based) epoch it belongs to. */
  next(): { epoch: number; batch: B };
  position(): LoaderPosition;
  restore(position: LoaderPosition): void;
}

/** The parameters and gradients the optimizer and the health checks see: flat, in the layout of `specs`. */
export interface TrainableModel {
  readonly params: Float32Array;
  /** d loss / d params after `endAccumulation` (same layout as params). */
  readonly grads: Float32Array;
  readonly specs: readonly ParamSpec[];
  readonly numParams: number;
  /** 1 where AdamW's weight decay applies (matrices), 0 elsewhere. */
  decayMask(): Uint8Array;
}

/**
 * The shape of a task's evaluation metrics `M`: numbers, a loss among them (`mlm runs` and the curves
 * read it), more as the task likes (constrain with `M extends TaskMetrics<M>`).
 */
export type TaskMetrics<M> = { loss: number } & Record<keyof M, number>;

/** The metric that picks the best checkpoint, and which way is better. */
export interface BestMetric<M extends TaskMetrics<M>> {
  metric: keyof M & string;
  /** "lower" for a loss (the MLM task), "higher" for an accuracy (a classifier). */
  better: "lower" | "higher";
}

/** One task with its data and its model on a backend, ready for the loop. */
export interface TrainingTask<B, M extends TaskMetrics<M>> {
  readonly train: BatchStream<B>;
  /** Batches of one evaluation (the time budget estimates an evaluation from them before timing one). */
  readonly validBatches: number;
  readonly model: TrainableModel;
  readonly backend: Backend;
  /**
   * Adds one batch's gradients to the accumulating sum (each batch weighted by what its loss averages
   * over); returns the batch's real tokens and its tokens with padding, for the throughput figures.
   */
  forwardBackward(batch: B, dropoutRng: Rng): { tokens: number; paddedTokens: number };
  /**
   * The mean loss of the batches since the last call and the count it averages over (e.g. labelled
   * tokens); `model.grads` then holds their gradient. On the WebGPU backend the loss is not computed
   * yet (the loop takes the GPU's, over `count`).
   */
  endAccumulation(): { loss: number; count: number };
  /** Scores the whole validation split; stops between two batches (throwing its reason) once `signal` is aborted. */
  evaluate(signal?: AbortSignal): Promise<M>;
  readonly best: BestMetric<M>;
  /** TensorBoard tags and values of one evaluation, e.g. ["Loss/valid", 2.3]. */
  scalars(metrics: M): [string, number][];
  /** The evaluation in words for the log, after "step N: validation ": "loss 2.3012, accuracy 41.0%". */
  describe(metrics: M): string;
  /** What a checkpoint holds of the task: its model's shape, its tensors, the tokenizer. */
  checkpointContents(): { modelConfig: ModelConfig; tensors: NamedTensor[]; tokenizerJson: string };
  /** Stops the backend when the task created it. */
  dispose(): void;
}

/** What `TaskKind.prepare` gets from the trainer. */
export interface PrepareContext<C extends TrainConfig> {
  config: C;
  run: RunDirectory;
  /** A new run (with its corpus's fingerprint for inputs.json, null for a pipe or memory); null when resuming. */
  newRun: { corpusFingerprint: FileFingerprint | null } | null;
  /** The corpus's sentences already in memory (a browser tab's), instead of reading config.data. */
  memoryCorpus?: InMemoryCorpus;
  log: (line: string) => void;
  /** Stops reading and tokenizing (throwing its reason) once aborted. */
  signal?: AbortSignal;
}

/** What `TaskKind.build` gets: the prepared data, the weights of a resumed run (else fresh ones from the seed). */
export interface BuildContext<C extends TrainConfig, D> {
  config: C;
  data: D;
  /** A checkpoint's tensors and the file they come from, or null for a seeded initialisation. */
  weights: { tensors: NamedTensor[]; file: string } | null;
  /** A backend to use instead of creating one (then not disposed). */
  backend?: Backend;
}

/** What every task's prepared data tells the trainer: the training batches per epoch, to plan the steps. */
export interface PreparedTask {
  trainBatchesPerEpoch: number;
}

/** How to make a task: prepare its data, then build it on a backend. `D` is the prepared data. */
export interface TaskKind<C extends TrainConfig, D extends PreparedTask, B, M extends TaskMetrics<M>> {
  /** The keys of one evaluation's metrics, checked in a resumed checkpoint's train_state.json. */
  readonly stateMetrics: StateMetricKeys;
  prepare(context: PrepareContext<C>): Promise<D>;
  build(context: BuildContext<C, D>): Promise<TrainingTask<B, M>>;
}
