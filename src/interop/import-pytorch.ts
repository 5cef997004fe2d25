/**
 * `importPytorch`: a folder written by `mlm_torch.py train` (or by `exportPytorch`) back into an mlm-ts
 * run directory, through the run module, that `mlm fill`, `mlm eval` and `mlm train --resume` take:
 *
 *   config.json, tokenizer.json, inputs.json   the original run's settings (a classifier's task and
 *                                              "classifier" entry too), tokenizer and corpus
 *                                              fingerprint (the corpus must stay where it was)
 *   best/                                      the imported weights, for inference
 *   last-<step>/                               the same with Adam's moments, when the folder has them:
 *                                              what --resume continues from
 *   metrics.jsonl, events.out.tfevents.*       the run's history: the folder's metrics.jsonl (the
 *                                              original run's records, then PyTorch's), the original
 *                                              TensorBoard files (history/), and one more event file
 *                                              holding PyTorch's records, so curves go on
 *
 * The step is the one PyTorch reached; the training state (loader position, generators, history) is
 * the exported checkpoint's, so mlm-ts continues its own batch order from where that checkpoint was.
 * The best validation loss becomes the one PyTorch computed at the fixed masks (trainer_state.json);
 * a classifier's evaluation (loss, accuracy, macro-F1, examples) joins its validation history, so the
 * imported weights are its best by any metric until mlm-ts evaluates again.
 * Every file is checked before anything is written: safetensors headers (size, offsets, dtypes,
 * shapes, against the model's layout), config.json's fields, the step in every file.
 */
import {
  EVENTS_FILE_PREFIX,
  formatMetricsLine,
  parseRunConfig,
  readMetricsFile,
  readSafetensors,
  readSafetensorsMetadata,
  RUN_FILES,
  RunDirectory,
  splitTaskRecord,
  type ClassifierRecord,
  type MetricsRecord,
} from "../run/index.js";
import { SummaryWriter } from "../track/tensorboard.js";
import { classifierLayout, modelConfigOf, paramLayout, type NamedTensor } from "../model/index.js";
import { platform } from "../platform/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";
import { parseTrainState, type TrainState } from "../train/train-state.js";
import { CLASSIFY_STATE_METRICS } from "../train/classify-task.js";
import { PYTORCH_EXPORT_FORMAT, PYTORCH_IMPORT_VERSIONS } from "./export-pytorch.js";
import { checkFiniteTensors, type TensorValues } from "./finite-tensors.js";
import { checkExportable } from "./model-options.js";
import { checkOutputFolder } from "./output-folder.js";
import { fromTorchLayout, toFlat } from "./torch-layout.js";

/** What an import wrote. */
export interface ImportResult {
  runDir: string;
  step: number;
  /** The checkpoints written (best/, and last-<step>/ when the folder had Adam's moments). */
  checkpoints: string[];
  /** The validation loss PyTorch recorded, when it did. */
  validLoss: number | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isStep = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** The original run's corpus fingerprint (inputs.json's "corpus"), null when it had none. */
function corpusFingerprint(inputs: unknown, source: string): FileFingerprint | null {
  if (inputs === null || inputs === undefined) return null;
  const corpus = isObject(inputs) ? inputs.corpus : undefined;
  if (corpus === null) return null;
  if (!(
    isObject(corpus) &&
    typeof corpus.path === "string" &&
    isStep(corpus.size) &&
    typeof corpus.sha256 === "string"
  ))
    throw new Error(`${source}: "corpus" must be null or {"path", "size", "sha256"}, got ${JSON.stringify(corpus)}`);
  return corpus as unknown as FileFingerprint;
}

/** The tensors of a safetensors file with their names. */
function namedValues(tensors: Map<string, { shape: number[]; data: Float32Array }>): TensorValues[] {
  return [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
}

/** TensorBoard's tags for the fields of mlm_torch.py's records (those of mlm-ts's training loop). */
const TENSORBOARD_TAGS: Record<string, Record<string, string>> = {
  train: { loss: "Loss/train", lr: "LearningRate", gradNorm: "GradNorm", tokensPerSec: "Throughput/tokens_per_sec" },
  valid: {
    loss: "Loss/valid",
    perplexity: "Perplexity/valid",
    accuracy: "Accuracy/valid",
    macroF1: "MacroF1/valid",
  },
};

/** Writes PyTorch's metrics records as scalars of a new event file in `dir`, at their own wall times. */
async function writeTensorboard(dir: string, records: readonly MetricsRecord[]): Promise<void> {
  if (records.length === 0) return;
  const writer = await SummaryWriter.open(dir, { wallTime: records[0].time });
  try {
    for (const record of records) {
      const tags = typeof record.split === "string" ? (TENSORBOARD_TAGS[record.split] ?? {}) : {};
      for (const [field, tag] of Object.entries(tags)) {
        const value = record[field];
        if (typeof value === "number") writer.addScalar(tag, value, record.step, record.time);
      }
    }
  } finally {
    await writer.close();
  }
}

/** The run config.json's task entries of a classifier: "task" and its "classifier" record, whole. */
function taskEntries(classifier: ClassifierRecord | null, raw: unknown): Record<string, unknown> {
  return classifier === null ? {} : { task: "text-classification", classifier: raw };
}

/**
 * A classifier's evaluation in trainer_state.json ("valid_metrics": mlm-ts's evaluation record, whose
 * loss is "valid_loss"), checked: the values of validHistory (CLASSIFY_STATE_METRICS) and every other
 * number of the record.
 */
function classifierEvaluation(raw: unknown, validLoss: number, source: string): Record<string, number> {
  if (!isObject(raw)) throw new Error(`${source}: "valid_metrics" must be the classifier's evaluation, an object`);
  for (const [key, value] of Object.entries(raw))
    if (typeof value !== "number") throw new Error(`${source}: "valid_metrics.${key}" must be a number`);
  for (const key of [...CLASSIFY_STATE_METRICS.values, ...CLASSIFY_STATE_METRICS.counts])
    if (typeof raw[key] !== "number") throw new Error(`${source}: "valid_metrics" has no "${key}"`);
  if (raw.loss !== validLoss) throw new Error(`${source}: "valid_metrics.loss" differs from "valid_loss"`);
  return raw as Record<string, number>;
}

async function readJson(path: string): Promise<Json> {
  const text = await platform().storage.readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) throw new Error(`${path}: expected a JSON object`);
  return value;
}

/**
 * Imports folder `dir` into a new run directory `outDir` (refused when it exists, unless `force`, and
 * when it is, holds or lies inside `dir` or a run's checkpoint folder: output-folder.ts). Weights or
 * moments holding NaN or an infinity are refused, naming the tensor and the index.
 *
 * @example
 *   const { runDir, step } = await importPytorch("trained", "runs/from-torch");
 *   // then: mlm fill "Tom is [MASK]." --model runs/from-torch; mlm train --resume runs/from-torch --max-steps 400
 */
export async function importPytorch(
  dir: string,
  outDir: string,
  options: { force?: boolean } = {},
): Promise<ImportResult> {
  const { storage } = platform();
  await checkOutputFolder(outDir, [{ path: dir, what: "the folder imported" }], {
    force: options.force ?? false,
    run: true,
  });
  const file = (name: string): string => storage.path.join(dir, name);
  const configPath = file("config.json");
  if ((await storage.stat(configPath)) === null)
    throw new Error(
      `${dir}: no config.json (expected a folder written by mlm export --format pytorch or mlm_torch.py train)`,
    );
  const cfg = await readJson(configPath);
  if (cfg.format !== PYTORCH_EXPORT_FORMAT || !PYTORCH_IMPORT_VERSIONS.includes(cfg.formatVersion as number))
    throw new Error(
      `${configPath}: "format" must be "${PYTORCH_EXPORT_FORMAT}" version ${PYTORCH_IMPORT_VERSIONS.join(" or ")}, got ${JSON.stringify(cfg.format)} version ${JSON.stringify(cfg.formatVersion)}`,
    );
  const step = cfg.step;
  if (!isStep(step)) throw new Error(`${configPath}: "step" must be a whole number >= 0, got ${JSON.stringify(step)}`);
  if (!isObject(cfg.model)) throw new Error(`${configPath}: "model" must be an object`);
  const modelConfig = modelConfigOf(cfg.model, `${configPath} "model"`);
  checkExportable(modelConfig, `${configPath} "model"`);
  const origin = cfg.mlm_ts;
  if (!isObject(origin) || !isObject(origin.runConfig) || !isObject(origin.state))
    throw new Error(`${configPath}: "mlm_ts" must hold the original run's "runConfig" and "state"`);
  const runConfig = parseRunConfig(origin.runConfig, `${configPath} "mlm_ts.runConfig"`);
  // a fine-tuned classifier: its task record, whole (how its labelled data is read), and its head's layout
  const { classifier } = splitTaskRecord({ task: cfg.task, classifier: cfg.classifier }, configPath);
  const exportedState = parseTrainState<Record<string, number>>(
    origin.state,
    `${configPath} "mlm_ts.state"`,
    classifier === null ? undefined : CLASSIFY_STATE_METRICS,
  );
  const corpus = corpusFingerprint(origin.inputs, `${configPath} "mlm_ts.inputs"`);

  const tokenizerJson = await storage.readText(file("tokenizer.json"));
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, file("tokenizer.json"));
  if (tokenizer.vocabSize !== modelConfig.vocabSize)
    throw new Error(
      `${file("tokenizer.json")}: ${tokenizer.vocabSize} tokens, but config.json's model has vocabSize ${modelConfig.vocabSize}`,
    );

  const { specs, total } =
    classifier === null ? paramLayout(modelConfig) : classifierLayout(modelConfig, classifier.id2label.length);
  const modelPath = file("model.safetensors");
  const weights = readSafetensors(await storage.readBytes(modelPath), modelPath);
  checkFiniteTensors(namedValues(weights), modelPath, "weights");
  const tensors = fromTorchLayout(specs, weights, modelPath);
  if (weights.size !== specs.length)
    throw new Error(`${modelPath}: ${weights.size} tensors, the model of config.json has ${specs.length}`);

  let optimizer: NamedTensor[] | undefined;
  const optimizerPath = file("optimizer.safetensors");
  if ((await storage.stat(optimizerPath)) !== null) {
    const bytes = await storage.readBytes(optimizerPath);
    const moments = readSafetensors(bytes, optimizerPath);
    checkFiniteTensors(namedValues(moments), optimizerPath, "moments");
    const savedStep = Number(readSafetensorsMetadata(bytes, optimizerPath).step);
    if (savedStep !== step)
      throw new Error(`${optimizerPath}: metadata step ${savedStep} differs from config.json's step ${step}`);
    const m = toFlat(specs, fromTorchLayout(specs, moments, optimizerPath, "exp_avg."), total);
    const v = toFlat(specs, fromTorchLayout(specs, moments, optimizerPath, "exp_avg_sq."), total);
    optimizer = [
      { name: "adam.m", shape: [total], data: m },
      { name: "adam.v", shape: [total], data: v },
    ];
  }

  // The history: every record is checked now (a bad line is refused before anything is written).
  const metricsPath = file(RUN_FILES.metrics);
  const records = (await storage.stat(metricsPath)) === null ? [] : await readMetricsFile(metricsPath, storage);
  const historyDir = file("history");
  const eventFiles =
    (await storage.stat(historyDir)) === null
      ? []
      : (await storage.list(historyDir)).filter((n) => n.startsWith(EVENTS_FILE_PREFIX)).sort();
  let historyRecords = records.length;

  let validLoss: number | null = null;
  let evaluation: Record<string, number> | null = null;
  const statePath = file("trainer_state.json");
  if ((await storage.stat(statePath)) !== null) {
    const trained = await readJson(statePath);
    if (trained.history_records !== undefined) {
      const n = trained.history_records;
      if (!(isStep(n) && n <= records.length))
        throw new Error(
          `${statePath}: "history_records" must be a whole number up to metrics.jsonl's ${records.length} records, got ${JSON.stringify(n)}`,
        );
      historyRecords = n;
    }
    if (trained.step !== step)
      throw new Error(`${statePath}: "step" is ${JSON.stringify(trained.step)}, config.json's step is ${step}`);
    if (!(typeof trained.valid_loss === "number" && Number.isFinite(trained.valid_loss)))
      throw new Error(`${statePath}: "valid_loss" must be a finite number, got ${JSON.stringify(trained.valid_loss)}`);
    validLoss = trained.valid_loss;
    if (classifier !== null) evaluation = classifierEvaluation(trained.valid_metrics, validLoss, statePath);
  }

  const run = new RunDirectory(outDir);
  const lock = await run.lock();
  try {
    const old = await run.runEntries();
    if (old.length > 0) {
      if (!options.force)
        throw new Error(`${run.dir} already holds a run; import into a new folder, or give --force to replace it`);
      for (const entry of old) await storage.remove(entry);
    }
    const config = { ...runConfig, ...taskEntries(classifier, cfg.classifier), outDir: run.dir };
    const state: TrainState<Record<string, number>> = {
      ...exportedState,
      validHistory:
        evaluation === null ? exportedState.validHistory : [...exportedState.validHistory, { step, ...evaluation }],
      step,
      bestValidLoss: validLoss ?? exportedState.bestValidLoss,
      bestStep: validLoss === null ? exportedState.bestStep : step,
      evalsWithoutImprovement: 0,
      lossSinceLog: 0,
      stepsSinceLog: 0,
    };
    delete state.kernels;
    await run.writeConfig(config);
    await run.writeTokenizer(tokenizer);
    await run.writeInputs(corpus);
    const checkpoint = { config, modelConfig, tensors, tokenizerJson, state };
    await run.saveCheckpoint(run.bestDir, checkpoint);
    const checkpoints = [run.bestDir];
    if (optimizer !== undefined) {
      await run.saveCheckpoint(run.lastDir(step), { ...checkpoint, optimizer });
      checkpoints.push(run.lastDir(step));
    }
    if (records.length > 0) await storage.writeAtomic(run.file("metrics"), records.map(formatMetricsLine).join(""));
    for (const name of eventFiles)
      await storage.writeAtomic(
        storage.path.join(run.dir, name),
        await storage.readBytes(storage.path.join(historyDir, name)),
      );
    await writeTensorboard(run.dir, records.slice(historyRecords));
    await run.writeStatus({ state: "interrupted", step });
    return { runDir: run.dir, step, checkpoints, validLoss };
  } finally {
    await lock.release();
  }
}
