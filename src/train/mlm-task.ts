/**
 * The masked language model as a training task (task.ts): the tutorial's data (a BPE tokenizer,
 * 15% of the tokens masked afresh in every training batch, fixed masks for validation), the encoder
 * with its MLM head and masked cross-entropy, evaluation by loss, perplexity and top-1 / top-5
 * accuracy at the masked positions; the lowest validation loss picks the best checkpoint.
 *
 * @example
 *   const data = await mlmTask.prepare({ config, run, newRun: { corpusFingerprint: null }, log });
 *   const task = await mlmTask.build({ config, data, weights: null });
 */
import type { TrainConfig } from "../config/index.js";
import { prepareData, runLoaders, type Batch, type MlmDataLoader } from "../data/index.js";
import {
  buildModel,
  capacityFor,
  evaluateSplit,
  firstBatches,
  type BuiltModel,
  type EvalMetrics,
  type MlmModel,
} from "../model/index.js";
import { cpuKindFor } from "../engine/create.js";
import { modelConfigFrom } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { Rng } from "../util/rng.js";
import { webGpuOf } from "./gpu-step.js";
import type { PreparedTask, TaskKind, TrainingTask } from "./task.js";
import { MLM_STATE_METRICS } from "./train-state.js";

/** The MLM task's data: the tokenizer and both loaders. */
export interface MlmData extends PreparedTask {
  tokenizer: Tokenizer;
  trainLoader: MlmDataLoader;
  validLoader: MlmDataLoader;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The masked language model of the tutorial; see the module comment. */
export const mlmTask: TaskKind<TrainConfig, MlmData, Batch, EvalMetrics> = {
  stateMetrics: MLM_STATE_METRICS,

  /**
   * Reads the corpus and tokenizes the splits (with the run's own tokenizer when resuming; a new run
   * saves its tokenizer, configuration and inputs first), and makes the loaders.
   */
  async prepare({ config, run, newRun, memoryCorpus, log, signal }): Promise<MlmData> {
    const ownTokenizer = newRun === null ? await run.readTokenizer() : undefined;
    const data = await prepareData(config, log, ownTokenizer, signal, memoryCorpus);
    if (newRun !== null) {
      await run.writeTokenizer(data.tokenizer);
      await run.writeConfig(config);
      await run.writeInputs(newRun.corpusFingerprint ?? data.fingerprint ?? null); // a streamed corpus's: from its pass
    }
    const { train: trainLoader, valid: validLoader } = runLoaders(config, data.tokenizer, data.train, data.valid);
    return { tokenizer: data.tokenizer, trainLoader, validLoader, trainBatchesPerEpoch: trainLoader.batchesPerEpoch };
  },

  /** The model on its backend, sized for both loaders' largest batches, with the checkpoint's or fresh weights. */
  async build({ config, data, weights, backend }): Promise<TrainingTask<Batch, EvalMetrics>> {
    const { tokenizer, trainLoader, validLoader } = data;
    const built = await buildModel({
      config: modelConfigFrom(config, tokenizer.vocabSize),
      capacity: { ...capacityFor([trainLoader, validLoader]), accumulate: config.gradAccumSteps > 1 },
      backend: backend ?? config.backend,
      threads: config.threads,
      weights: weights?.tensors ?? Rng.derive(config.seed, "init"),
      weightsFile: weights?.file,
    });
    const { model } = built;
    const scored = firstBatches(validLoader, config.evalSentences, config.evalBatchSize ?? config.batchSize);
    const gpu = webGpuOf(built.backend);
    // WebGPU: a fresh initialisation writes the CPU copy element by element; send it once (loaded
    // tensors went with their `set`s already).
    if (gpu !== null && weights === null) gpu.upload(model.params);
    /**
     * The model that evaluates: itself on a CPU backend; on WebGPU a copy on WebAssembly (or on
     * config.backend where that is a CPU kind: a tab's choice) with the GPU's weights read back, built
     * at the first evaluation (evaluation reads logits on the CPU).
     */
    let cpuCopy: BuiltModel | null = null;
    const evaluator = async (): Promise<MlmModel> => {
      if (gpu === null) return model;
      await gpu.read([model.params]);
      if (cpuCopy === null)
        cpuCopy = await buildModel({
          config: model.config,
          capacity: capacityFor([validLoader]),
          backend: cpuKindFor(config.backend),
          threads: config.threads,
          weights: model.tensors(),
        });
      else cpuCopy.model.params.set(model.params);
      return cpuCopy.model;
    };
    return {
      train: trainLoader,
      validBatches: scored.batchesPerEpoch,
      model,
      backend: built.backend,
      forwardBackward(batch, dropoutRng) {
        // accumulate: the model sums each batch's gradient weighted by its masked tokens
        model.forwardBackward(batch, { train: true, dropoutRng, fullHead: config.fullHead, accumulate: true });
        return { tokens: batch.tokens, paddedTokens: batch.numSeqs * batch.width };
      },
      endAccumulation: () => model.endAccumulation(),
      evaluate: async (signal) =>
        evaluateSplit(await evaluator(), scored, {
          fullHead: config.fullHead,
          progress: config.progress,
          label: "eval",
          signal,
        }),
      best: { metric: "loss", better: "lower" },
      scalars: (m) => [
        ["Loss/valid", m.loss],
        ["Perplexity/valid", m.perplexity],
        ["Accuracy/valid_top1", m.accuracy],
        ["Accuracy/valid_top5", m.top5],
      ],
      describe: (m) =>
        `loss ${m.loss.toFixed(4)}, perplexity ${m.perplexity.toFixed(1)}, accuracy ${pct(m.accuracy)} (top-5 ${pct(m.top5)})`,
      checkpointContents: () => ({
        modelConfig: model.config,
        tensors: model.tensors(),
        tokenizerJson: tokenizer.toString(),
      }),
      dispose: () => {
        cpuCopy?.dispose();
        built.dispose();
      },
    };
  },
};
