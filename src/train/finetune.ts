/**
 * `finetune`: a classifier trained on labelled sentences from a pre-trained run's encoder (or from a
 * random start of the same shape), through the one training loop (classify-task.ts, trainer.ts).
 *
 * Before the run opens: the source run is read and checked (a masked-LM or classification run whose
 * tokenizer is the one it was trained with), the labelled data is read and split, and the tutorial's
 * baseline (TF-IDF + logistic regression) is scored on the same split, for the log's first line.
 * Defaults are the tutorial's fine-tuning settings: learning rate 5e-5, 10 epochs, an evaluation
 * every 500 steps, the training loss every 100.
 *
 * @example
 *   import { resolveConfig } from "mlm-ts/config";
 *   import { finetune, FINETUNE_DEFAULTS } from "mlm-ts";
 *   const s = await finetune({ config: resolveConfig({ ...FINETUNE_DEFAULTS, data: "data/spam-subjects.tsv" }), from: "runs/pre" });
 *   console.log(s.bestStep, s.evaluations.at(-1));
 */
import { pickKeys, resolveConfig, UsageError, type FieldTable, type TrainConfig } from "../config/index.js";
import {
  corpusFingerprint,
  labelledFromMemory,
  readLabelledSplits,
  type LabelledDataOptions,
  type LabelledReader,
  type LabelledSplits,
} from "../data/index.js";
import {
  baselineText,
  isEncoderTensor,
  CLASSIFIER_HEADS,
  MODEL_KEYS,
  POOLINGS,
  trainBaseline,
  bertMismatch,
  type ClassifierHead,
  type ModelConfig,
  type Pooling,
} from "../model/index.js";
import {
  CHECKPOINT_FILES,
  loadCheckpoint,
  modelConfigFrom,
  parseCheckpointConfig,
  readRunInputs,
  resolveCheckpointDir,
  splitTaskRecord,
  RunDirectory,
  readJsonObject,
} from "../run/index.js";
import { platform } from "../platform/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { sha256Hex } from "../util/sha256.js";
import {
  BEST_METRICS,
  classifyTask,
  type BestMetricName,
  type ClassifyConfig,
  type ClassifyInputs,
  type ClassMetrics,
  type FinetuneSettings,
} from "./classify-task.js";
import { RESUME_CONSEQUENCE } from "./open-run.js";
import { trainTask, type TaskSummary, type TrainOptions } from "./trainer.js";

/**
 * The tutorial's fine-tuning settings, over the table's defaults (flags and files go on top); its
 * evaluation every 500 steps is the table's default already.
 */
export const FINETUNE_DEFAULTS = {
  learningRate: 5e-5,
  epochs: 10,
  logSteps: 100,
} as const satisfies Partial<TrainConfig>;

/** How the head is built and the best checkpoint picked: flags of `mlm finetune`, fields of the tab's form. */
export const FINETUNE_HEAD_OPTIONS = {
  pooling: {
    kind: "choice",
    choices: POOLINGS,
    default: "cls",
    help: "sentence vector of the head: [CLS] (the tutorial's) or the mean",
  },
  head: {
    kind: "choice",
    choices: CLASSIFIER_HEADS,
    default: null,
    none: "bert for a run of BERT's architecture (--recipe bert), else tutorial",
    help: "head on that vector: tutorial (dense, activation, LayerNorm, linear) or bert (BertForSequenceClassification's: dense, tanh, dropout, linear)",
  },
  bestMetric: {
    kind: "choice",
    choices: ["accuracy", "macroF1", "loss"] as const satisfies readonly BestMetricName[],
    default: "accuracy",
    help: "the evaluation metric that picks best/",
  },
} as const satisfies FieldTable;

/** What to fine-tune: the settings (config.data: the labelled file), the source run and the data's columns. */
export interface FinetuneRequest extends Partial<Omit<LabelledDataOptions, "dataSeed">> {
  config: TrainConfig;
  /** A masked-LM or classification run (or one of its checkpoints) to start from; null: random weights. */
  from: string | null;
  /** Default "cls" (the tutorial's head). */
  pooling?: Pooling;
  /**
   * The head on the pooled vector; default "bert" (BertForSequenceClassification's) when the model's
   * architecture is exactly BERT's (the bert recipe), else "tutorial".
   */
  head?: ClassifierHead;
  /** Default "accuracy" (the tutorial's). */
  bestMetric?: BestMetricName;
}

export type FinetuneSummary = TaskSummary<ClassMetrics>;

/** A source run's tokenizer, encoder and shape. */
interface Source {
  checkpointDir: string;
  tokenizer: Tokenizer;
  tokenizerJson: string;
  modelConfig: ModelConfig;
}

/** Trains a classifier; see the module comment. */
export async function finetune(request: FinetuneRequest, options: TrainOptions = {}): Promise<FinetuneSummary> {
  const base = request.config;
  if (base.data === null) throw new Error("finetune: config.data must name the labelled data file");
  if (base.backend === "webgpu")
    throw new UsageError(
      "--backend webgpu trains masked language models only (mlm train); fine-tuning runs on wasm or ts",
    );
  const source = request.from === null ? null : await readSource(request.from);
  // The source run's shape wins over the configuration's (its weights have that shape).
  const config: TrainConfig =
    source === null ? base : resolveConfig({ ...base, ...shapeKeys(source.modelConfig) }, "finetune");
  const settings: FinetuneSettings = {
    id2label: [],
    pooling: request.pooling ?? "cls",
    head: request.head ?? defaultHead(config),
    from: request.from,
    fromFingerprint: source === null ? null : sha256Hex(source.tokenizerJson),
    // absolute, as config.data: a resume from any folder reads (and inputs.json checks) the same file
    valid: request.valid == null ? null : platform().storage.path.resolve(request.valid),
    validFraction: request.validFraction ?? 0.2,
    textColumn: request.textColumn ?? null,
    textPairColumn: request.textPairColumn ?? null,
    labelColumn: request.labelColumn ?? "label",
    bestMetric: request.bestMetric ?? "accuracy",
  };
  if (source === null && config.tokenizer === null)
    throw new Error(
      "finetune --from none needs a tokenizer (--tokenizer FILE, e.g. a pre-trained run's tokenizer.json)",
    );
  const tokenizer = source?.tokenizer ?? Tokenizer.load(config.tokenizer!);
  const inputs = await readInputs(config, settings, tokenizer, options);
  inputs.task.notes.push(headNote(settings.head));
  const encoder = source === null ? null : await readEncoder(source);
  const classifyConfig: ClassifyConfig = {
    ...config,
    task: "text-classification",
    classifier: { ...settings, id2label: inputs.id2label },
  };
  return trainTask(classifyTask({ ...inputs.task, tokenizer, encoder }), classifyConfig, options);
}

/**
 * Continues a fine-tuning run from its latest checkpoint, with its own config.json (`changes`: the
 * settings that may change on a resume, as `mlm train --resume` allows).
 */
export async function resumeFinetune(
  runDir: string,
  changes: Partial<TrainConfig> = {},
  options: TrainOptions = {},
): Promise<FinetuneSummary> {
  const saved = await readFinetuneConfig(runDir);
  const config: ClassifyConfig = {
    ...resolveConfig({ ...stripTask(saved), ...changes }, "resumed configuration"),
    task: saved.task,
    classifier: saved.classifier,
  };
  const run = new RunDirectory(runDir);
  // Before the data is read and the baseline fitted (seconds on SST-2); the trainer checks again under the lock.
  if (options.labelled === undefined)
    await run.checkInputs(() => corpusFingerprint(config.data!, { cacheDir: config.cacheDir }), RESUME_CONSEQUENCE);
  const tokenizer = await run.readTokenizer();
  const inputs = await readInputs(config, config.classifier, tokenizer, options);
  checkSameLabels(config.data!, inputs.id2label, config.classifier.id2label);
  return trainTask(classifyTask({ ...inputs.task, tokenizer: null, encoder: null }), config, {
    ...options,
    resume: runDir,
  });
}

/** A fine-tuning run's config.json: the settings and the task's record (see classify-task.ts). */
export async function readFinetuneConfig(runDir: string): Promise<ClassifyConfig> {
  const storage = platform().storage;
  const path = storage.path.join(runDir, "config.json");
  const raw = await readJsonObject(storage, path);
  const parsed = splitTaskRecord(raw, path);
  const { task } = parsed;
  if (task !== "text-classification") throw new Error(`${path}: not a fine-tuning run (its task is ${task})`);
  const run = await new RunDirectory(runDir).readConfig();
  // the head as the record reads it ("tutorial" for runs from before BERT's head)
  const classifier = { ...(raw.classifier as FinetuneSettings), head: parsed.classifier!.head };
  return { ...run, task: "text-classification", classifier };
}

/** BERT's head for a model of BERT's architecture (the bert recipe's), the tutorial's for any other. */
export function defaultHead(config: TrainConfig): ClassifierHead {
  return bertMismatch(config) === null ? "bert" : "tutorial";
}

/** The log's line about the head. */
function headNote(head: ClassifierHead): string {
  return head === "bert"
    ? "head: bert (BertForSequenceClassification's: dense, tanh, dropout, linear on the pooled vector)"
    : "head: tutorial (dense, activation, LayerNorm, linear on the pooled vector)";
}

function stripTask(c: ClassifyConfig): TrainConfig {
  const { task: _t, classifier: _c, ...rest } = c;
  return rest;
}

/** The shape keys of a source model (vocabulary and dropout rates excluded: those follow from the run). */
function shapeKeys(m: ModelConfig): Partial<TrainConfig> {
  const keys = MODEL_KEYS.filter((k) => k !== "vocabSize" && !k.startsWith("dropout"));
  return pickKeys(m, keys);
}

/** The source run's checkpoint, checked: a masked-LM or classification run, its tokenizer unchanged. */
async function readSource(from: string): Promise<Source> {
  const { checkpointDir, runDir } = await resolveCheckpointDir(from);
  const storage = platform().storage;
  const configPath = storage.path.join(checkpointDir, CHECKPOINT_FILES.config);
  const ckpt = await loadCheckpoint(checkpointDir, { optimizer: false });
  splitTaskRecord(ckpt.config, configPath); // a task this version knows: fill-mask or text-classification
  const tokenizerPath = storage.path.join(checkpointDir, CHECKPOINT_FILES.tokenizer);
  const tokenizer = Tokenizer.fromJSON(JSON.parse(ckpt.tokenizerJson), tokenizerPath);
  const { modelConfig } = parseCheckpointConfig(ckpt.config, configPath, tokenizer.vocabSize);
  if (runDir !== null) {
    const recorded = await readRunInputs(runDir);
    const now = sha256Hex(ckpt.tokenizerJson);
    if (recorded !== null && recorded.tokenizer.sha256 !== now)
      throw new Error(
        `${tokenizerPath}: the tokenizer changed since ${runDir} was pre-trained (inputs.json recorded sha256 ` +
          `${recorded.tokenizer.sha256.slice(0, 12)}..., it is now ${now.slice(0, 12)}...); the encoder's token ids would not match`,
      );
  }
  return { checkpointDir, tokenizer, tokenizerJson: ckpt.tokenizerJson, modelConfig };
}

/** The encoder's tensors of the source checkpoint (its masked-LM or classification head left out). */
async function readEncoder(source: Source): Promise<ClassifyInputs["encoder"]> {
  const ckpt = await loadCheckpoint(source.checkpointDir, { optimizer: false });
  return ckpt.tensors.filter((t) => isEncoderTensor(t.name));
}

/**
 * The labelled splits of a fine-tuning run's data file as its settings read them (the same columns and
 * seeded split, so a resume or an export gets the sentences training had); `read` for files in memory.
 */
export function readRunSplits(
  config: TrainConfig,
  settings: Pick<FinetuneSettings, "valid" | "validFraction" | "textColumn" | "textPairColumn" | "labelColumn">,
  read?: LabelledReader,
): Promise<LabelledSplits> {
  const { valid, validFraction, textColumn, textPairColumn, labelColumn } = settings;
  const options = { valid, validFraction, dataSeed: config.dataSeed, textColumn, textPairColumn, labelColumn };
  return readLabelledSplits(config.data!, options, read);
}

/** Throws when data file `data` now holds other classes than the run was trained on (`trained`, in order). */
export function checkSameLabels(data: string, found: readonly string[], trained: readonly string[]): void {
  if (found.join("\n") !== trained.join("\n"))
    throw new Error(`${data}: its labels are now ${found.join(", ")}, the run was trained on ${trained.join(", ")}`);
}

/** The labelled splits (from disk, or options.labelled), their classes, and the baseline's line for the log. */
async function readInputs(
  config: TrainConfig,
  settings: Omit<FinetuneSettings, "id2label" | "pooling" | "head" | "from" | "fromFingerprint">,
  tokenizer: Tokenizer,
  options: TrainOptions,
): Promise<{ id2label: string[]; task: Omit<ClassifyInputs, "tokenizer" | "encoder"> }> {
  if (!(settings.bestMetric in BEST_METRICS))
    throw new Error(`finetune: bestMetric must be one of ${Object.keys(BEST_METRICS).join(", ")}`);
  const s = await readRunSplits(
    config,
    settings,
    options.labelled === undefined ? undefined : labelledFromMemory(options.labelled),
  );
  const baseline = trainBaseline(
    { texts: s.train.map(baselineText), labels: s.trainLabels },
    { texts: s.valid.map(baselineText), labels: s.validLabels },
    s.id2label,
  );
  const notes = [
    `baseline (TF-IDF + logistic regression, same split): accuracy ${(100 * baseline.accuracy).toFixed(1)}%, ` +
      `macro-F1 ${baseline.macroF1.toFixed(4)}`,
  ];
  return {
    id2label: s.id2label,
    task: {
      train: { examples: s.train, labels: s.trainLabels },
      valid: { examples: s.valid, labels: s.validLabels },
      modelConfig: modelConfigFrom(config, tokenizer.vocabSize),
      notes,
      // Data given in memory (the tab) has no file to fingerprint, as openRun's corpus.
      validFile: options.labelled === undefined ? settings.valid : null,
    },
  };
}
