/**
 * The configuration files of a run: the run's config.json (its settings) and each checkpoint's
 * config.json (the same settings plus the model's shape), both tagged with `formatVersion`
 * (layout.ts), and what follows from them.
 */
import { pickKeys, resolveConfig, type TrainConfig } from "../config/index.js";
import { MODEL_KEYS, modelConfigOf, type ModelConfig } from "../model/index.js";
import { platform } from "../platform/index.js";
import { RUN_FORMAT_UNVERSIONED, RUN_FORMAT_VERSION } from "./layout.js";
import { splitTaskRecord } from "./task-record.js";

/**
 * The format version a config.json declares: RUN_FORMAT_UNVERSIONED (0, the first layout) when it has
 * none. Throws naming `source` for a version that is not a whole number or is newer than this code reads.
 */
export function formatVersionOf(raw: Record<string, unknown>, source: string): number {
  const version = raw.formatVersion ?? RUN_FORMAT_UNVERSIONED;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0)
    throw new Error(`${source}: "formatVersion" must be a whole number >= 0, got ${JSON.stringify(version)}`);
  if (version > RUN_FORMAT_VERSION)
    throw new Error(
      `${source}: written by a newer mlm-ts (run format ${version}; this version reads up to ${RUN_FORMAT_VERSION})`,
    );
  return version;
}

/**
 * The contents of a run's config.json: the format version, then every setting (`outDir` the run's
 * directory; the corpus and tokenizer files as absolute paths, so that the run resumes, exports and
 * evaluates from any working folder).
 */
export function runConfigRecord(config: TrainConfig, runDir: string): Record<string, unknown> {
  const { path } = platform().storage;
  const absolute = (file: string | null): string | null => (file === null ? null : path.resolve(file));
  return {
    formatVersion: RUN_FORMAT_VERSION,
    ...config,
    data: absolute(config.data),
    tokenizer: absolute(config.tokenizer),
    outDir: runDir,
  };
}

/** A checkpoint's config.json: the run's config.json plus the model's shape under "model". */
export function checkpointConfigRecord(
  config: TrainConfig,
  runDir: string,
  model: ModelConfig,
): Record<string, unknown> {
  return { ...runConfigRecord(config, runDir), model };
}

/**
 * The settings in a run's config.json (any format version), checked as `resolveConfig` checks them;
 * the task's entries (task-record.ts) are checked and left out.
 */
export function parseRunConfig(raw: Record<string, unknown>, source: string): TrainConfig {
  formatVersionOf(raw, source);
  const { formatVersion: _version, ...settings } = splitTaskRecord(raw, source).rest;
  return resolveConfig(settings, source);
}

/**
 * The settings and model shape of a checkpoint's config.json, checked against the tokenizer's
 * vocabulary. A checkpoint without a "model" entry gets the shape that follows from its settings.
 * Dropout is 0: the shape is for using the model.
 */
export function parseCheckpointConfig(
  raw: Record<string, unknown>,
  source: string,
  vocabSize: number,
): { config: TrainConfig; modelConfig: ModelConfig } {
  const { model: saved, ...run } = raw;
  const config = parseRunConfig(run, source);
  let shape: Record<string, unknown>;
  if (saved === undefined) {
    shape = { ...modelConfigFrom(config, vocabSize) };
  } else if (typeof saved === "object" && saved !== null && !Array.isArray(saved)) {
    shape = saved as Record<string, unknown>;
  } else {
    throw new Error(`${source}: "model" must be an object (${MODEL_KEYS.join(", ")})`);
  }
  const modelConfig = modelConfigOf({ ...shape, dropout: 0 }, `${source}: model`);
  if (modelConfig.vocabSize !== vocabSize) {
    throw new Error(
      `${source}: the model has a vocabulary of ${modelConfig.vocabSize} tokens, its tokenizer.json ${vocabSize}`,
    );
  }
  return { config, modelConfig };
}

/** The model's shape from a training configuration and the tokenizer's vocabulary size. */
export function modelConfigFrom(config: TrainConfig, vocabSize: number): ModelConfig {
  return modelConfigOf({ ...pickKeys(config, MODEL_KEYS), vocabSize });
}
