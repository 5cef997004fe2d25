/**
 * Sentence classification as a training task (task.ts), the tutorial's fine-tuning chapter: labelled
 * sentences (data/labelled.ts) encoded with the pre-trained run's tokenizer, the encoder with the
 * classification head (model/classifier.ts), softmax cross-entropy on the classes, evaluation by
 * loss, accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix; a settable
 * metric (accuracy by default, as the tutorial) picks the best checkpoint. The loop is the masked
 * language model's, unchanged.
 *
 * What the run's config.json records of the task, beside the settings (run/task-record.ts):
 * "task": "text-classification" and "classifier": the label names in class-id order (id2label),
 * the pooling, the source run and its tokenizer's fingerprint, and how the data was read.
 */
import type { TrainConfig } from "../config/index.js";
import { createBackend } from "../engine/create.js";
import { encodeLabelled, LabelledLoader, requireToken, type Batch, type LabelledSplit } from "../data/index.js";
import {
  ClassifierModel,
  evaluateClassifier,
  type ClassifierMetrics,
  type ModelConfig,
  type NamedTensor,
} from "../model/index.js";
import { modelConfigFrom, type ClassifierRecord } from "../run/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { Rng } from "../util/rng.js";
import type { PreparedTask, TaskKind, TrainingTask } from "./task.js";

/** The metrics that can pick the best checkpoint, and which way is better. */
export const BEST_METRICS = { accuracy: "higher", macroF1: "higher", loss: "lower" } as const;
export type BestMetricName = keyof typeof BEST_METRICS;

/** How a fine-tuning run reads its data and builds its head: the "classifier" entry of config.json. */
export interface FinetuneSettings extends ClassifierRecord {
  /** Validation file, or null for a seeded share (validFraction, dataSeed) of the data file. */
  valid: string | null;
  validFraction: number;
  textColumn: string | null;
  textPairColumn: string | null;
  labelColumn: string;
  bestMetric: BestMetricName;
}

/** A fine-tuning run's configuration: the training settings (config.data is the labelled file) and the task. */
export type ClassifyConfig = TrainConfig & { task: "text-classification"; classifier: FinetuneSettings };

/**
 * One evaluation: loss, accuracy, macro-F1, the examples scored, then per class `precision/<label>`,
 * `recall/<label>`, `f1/<label>`, `support/<label>` and the confusion matrix as
 * `confusion/<true>/<predicted>` counts (metrics.jsonl holds every key).
 */
export type ClassMetrics = { loss: number; accuracy: number; macroF1: number; examples: number } & Record<
  string,
  number
>;

/** The labelled data the task trains on: both splits, encoded, and what the log says about them. */
export interface ClassifyInputs {
  /** The tokenizer of the source run (a new run), or of the run itself (resuming: read in prepare). */
  tokenizer: Tokenizer | null;
  train: { examples: readonly { text: string; textPair?: string }[]; labels: Int32Array };
  valid: { examples: readonly { text: string; textPair?: string }[]; labels: Int32Array };
  /** The encoder's tensors of the source run (a new run starting from one), else null. */
  encoder: NamedTensor[] | null;
  /** The model's shape (the source run's, or the configuration's for a random start). */
  modelConfig: ModelConfig;
  /** Lines for the log at the start (the baseline's figures). */
  notes: string[];
  /** The --valid file a new run fingerprints in inputs.json (null: none, or the data came from memory). */
  validFile: string | null;
}

export interface ClassifyData extends PreparedTask {
  tokenizer: Tokenizer;
  trainLoader: LabelledLoader;
  validLoader: LabelledLoader;
}

/** The metrics of a classifier's evaluation that train_state.json's validHistory holds. */
export const CLASSIFY_STATE_METRICS = { values: ["loss", "accuracy", "macroF1"], counts: ["examples"] } as const;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The metrics of an evaluation as the flat numbers metrics.jsonl and train_state.json hold. */
export function flattenMetrics(m: ClassifierMetrics): ClassMetrics {
  const out: ClassMetrics = { loss: m.loss, accuracy: m.accuracy, macroF1: m.macroF1, examples: m.examples };
  m.perClass.forEach((c, t) => {
    out[`precision/${c.label}`] = c.precision;
    out[`recall/${c.label}`] = c.recall;
    out[`f1/${c.label}`] = c.f1;
    out[`support/${c.label}`] = c.support;
    m.perClass.forEach((p, k) => (out[`confusion/${c.label}/${p.label}`] = m.confusion[t][k]));
  });
  return out;
}

/**
 * The task, given the data read before the run opened (`inputs`: the trainer's prepare reads only
 * what the run directory holds).
 */
export function classifyTask(inputs: ClassifyInputs): TaskKind<ClassifyConfig, ClassifyData, Batch, ClassMetrics> {
  return {
    stateMetrics: CLASSIFY_STATE_METRICS,

    async prepare({ config, run, newRun, log }): Promise<ClassifyData> {
      const tokenizer = newRun === null ? await run.readTokenizer() : inputs.tokenizer;
      if (tokenizer === null) throw new Error("fine-tuning: a new run needs the tokenizer of its source run");
      if (newRun !== null) {
        await run.writeTokenizer(tokenizer);
        await run.writeConfig(config);
        await run.writeInputs(newRun.corpusFingerprint, inputs.validFile);
      }
      for (const note of inputs.notes) log(note);
      const maxLen = inputs.modelConfig.maxLen;
      const encode = (s: ClassifyInputs["train"]): LabelledSplit =>
        encodeLabelled(tokenizer, s.examples, s.labels, maxLen);
      const train = encode(inputs.train);
      const valid = encode(inputs.valid);
      const cut = train.truncated + valid.truncated;
      log(
        `data: ${train.count} training and ${valid.count} validation examples, ${config.classifier.id2label.length} classes ` +
          `(${config.classifier.id2label.join(", ")}); ${cut} longer than ${maxLen} tokens, truncated`,
      );
      const padId = requireToken(tokenizer, "[PAD]");
      const common = {
        maxLen,
        padId,
        seed: config.seed,
        pack: config.computePadding ? ("padded" as const) : ("unpadded" as const),
      };
      const trainLoader = new LabelledLoader(train, {
        ...common,
        batchSize: config.batchSize,
        shuffle: config.shuffle,
      });
      const validLoader = new LabelledLoader(valid, { ...common, batchSize: config.batchSize });
      return { tokenizer, trainLoader, validLoader, trainBatchesPerEpoch: trainLoader.batchesPerEpoch };
    },

    async build({ config, data, weights, backend: given }): Promise<TrainingTask<Batch, ClassMetrics>> {
      const { tokenizer, trainLoader, validLoader } = data;
      const { id2label, pooling, head, bestMetric } = config.classifier;
      const backend = given ?? (await createBackend(config.backend, config.threads));
      const dispose = (): void => {
        if (given === undefined) backend.dispose();
      };
      let model: ClassifierModel;
      try {
        const a = trainLoader.largestBatch();
        const b = validLoader.largestBatch();
        model = new ClassifierModel(
          backend,
          { ...modelConfigFrom(config, tokenizer.vocabSize), ...shapeOf(inputs.modelConfig) },
          { numLabels: id2label.length, pooling, head },
          {
            maxRows: Math.max(a.maxRows, b.maxRows),
            maxSeqs: Math.max(a.maxSeqs, b.maxSeqs),
            accumulate: config.gradAccumSteps > 1,
          },
        );
        if (weights !== null) {
          loadNamed(weights.file, () => model.loadTensors(weights.tensors));
        } else {
          // the head's weights (and a random start's encoder) from the run's seed; then the source's encoder
          model.init(Rng.derive(config.seed, "init"));
          if (inputs.encoder !== null) model.loadEncoder(inputs.encoder);
        }
      } catch (err) {
        dispose();
        throw err;
      }
      return {
        train: trainLoader,
        validBatches: validLoader.batchesPerEpoch,
        model,
        backend,
        forwardBackward(batch, dropoutRng) {
          model.forwardBackward(batch, { train: true, dropoutRng, accumulate: true });
          return { tokens: batch.tokens, paddedTokens: batch.numSeqs * batch.width };
        },
        endAccumulation: () => model.endAccumulation(),
        evaluate: async (signal) =>
          flattenMetrics(
            await evaluateClassifier(model, validLoader, id2label, {
              progress: config.progress,
              label: "eval",
              signal,
            }),
          ),
        best: { metric: bestMetric, better: BEST_METRICS[bestMetric] },
        scalars: (m) => [
          ["Loss/valid", m.loss],
          ["Accuracy/valid", m.accuracy],
          ["MacroF1/valid", m.macroF1],
        ],
        describe: (m) => `loss ${m.loss.toFixed(4)}, accuracy ${pct(m.accuracy)}, macro-F1 ${m.macroF1.toFixed(4)}`,
        checkpointContents: () => ({
          modelConfig: model.config,
          tensors: model.tensors(),
          tokenizerJson: tokenizer.toString(),
        }),
        dispose,
      };
    },
  };
}

/** The keys of a model shape that a source run fixes (its dropout rates are the fine-tuning run's own). */
function shapeOf(m: ModelConfig): Partial<ModelConfig> {
  const {
    dropout: _d,
    dropoutEmbedding: _e,
    dropoutAttention: _a,
    dropoutHidden: _h,
    dropoutResidual: _r,
    ...shape
  } = m;
  return shape;
}

function loadNamed(file: string, load: () => void): void {
  try {
    load();
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}
