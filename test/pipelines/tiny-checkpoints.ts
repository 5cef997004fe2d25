/**
 * Checkpoints made by hand for the pipeline tests: a tiny masked-LM model and a tiny classifier (the
 * same encoder, seeded weights, three classes), each in a checkpoint directory of its own, as the
 * trainer writes them (config.json with the model's shape and, for the classifier, its task).
 */
import { join } from "node:path";
import { resolveConfig } from "../../src/config/index.js";
import { ClassifierModel, MlmModel, modelConfigOf, type ModelConfig } from "../../src/model/index.js";
import { checkpointConfigRecord, saveCheckpoint, taskRecord, type ClassifierRecord } from "../../src/run/index.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { trainBpeFromSentences, type Tokenizer } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";

export const SENTENCES = ["the cat sat on the mat", "the dog sat on the log", "a bird sang in a tree", "fish swim"];
export const CLASSES = ["animal", "place", "other"];

export interface TinyCheckpoints {
  tokenizer: Tokenizer;
  modelConfig: ModelConfig;
  mlmDir: string;
  classifierDir: string;
  classifier: ClassifierRecord;
}

/** `options`: model options of both (e.g. pre-norm, GELU) and the classifier's pooling. */
export async function writeTinyCheckpoints(
  dir: string,
  options: { model?: Partial<ModelConfig>; pooling?: "cls" | "mean" } = {},
): Promise<TinyCheckpoints> {
  const tokenizer = trainBpeFromSentences(SENTENCES, { vocabSize: 60, minFrequency: 1 });
  const modelConfig = modelConfigOf({
    vocabSize: tokenizer.vocabSize,
    dModel: 16,
    numLayers: 2,
    numHeads: 2,
    dFF: 32,
    maxLen: 12,
  });
  const config = resolveConfig({
    vocabSize: tokenizer.vocabSize,
    dModel: 16,
    numLayers: 2,
    numHeads: 2,
    dFF: 32,
    maxLen: 12,
  });
  const be = new TsBackend();
  const mlm = new MlmModel(be, modelConfig, { maxRows: 12, maxSeqs: 1 });
  mlm.init(new Rng(3));
  const mlmDir = join(dir, "mlm");
  const state = { step: 1 };
  await saveCheckpoint(mlmDir, {
    config: checkpointConfigRecord(config, mlmDir, modelConfig),
    tensors: mlm.tensors(),
    tokenizerJson: tokenizer.toString(),
    state,
  });
  const pooling = options.pooling ?? "cls";
  const classifier: ClassifierRecord = {
    id2label: CLASSES,
    pooling,
    head: "tutorial",
    from: mlmDir,
    fromFingerprint: null,
  };
  const cls = new ClassifierModel(be, modelConfig, { numLabels: 3, pooling }, { maxRows: 12, maxSeqs: 1 });
  cls.init(new Rng(4));
  const classifierDir = join(dir, "classifier");
  await saveCheckpoint(classifierDir, {
    config: { ...checkpointConfigRecord(config, classifierDir, modelConfig), ...taskRecord(classifier) },
    tensors: cls.tensors(),
    tokenizerJson: tokenizer.toString(),
    state,
  });
  return { tokenizer, modelConfig, mlmDir, classifierDir, classifier };
}
