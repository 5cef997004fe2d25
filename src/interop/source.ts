/**
 * The checkpoint an export reads: a run directory (its best/ checkpoint for serving, its newest
 * last-* one for training on, which holds Adam's moments) or a checkpoint directory itself, with its
 * configuration, model shape and tokenizer, each checked as `mlm fill` checks them.
 */
import type { TrainConfig } from "../config/index.js";
import type { ModelConfig, NamedTensor } from "../model/index.js";
import { platform } from "../platform/index.js";
import {
  CHECKPOINT_FILES,
  loadLocatedCheckpoint,
  parseCheckpointConfig,
  readRunInputs,
  resolveCheckpointDir,
  RunDirectory,
  type RunInputs,
} from "../run/index.js";
import { Tokenizer } from "../tokenizer/index.js";

/** What an export needs from a trained run. */
export interface ExportSource {
  checkpointDir: string;
  /** The run directory, when the checkpoint belongs to one. */
  runDir: string | null;
  config: TrainConfig;
  modelConfig: ModelConfig;
  tokenizer: Tokenizer;
  tokenizerJson: string;
  /** Parameters, mlm-ts names and layout ([in, out] linear weights). */
  tensors: NamedTensor[];
  /** Adam's flat moments "adam.m" / "adam.v", when the checkpoint has them (last-*). */
  optimizer: NamedTensor[] | undefined;
  /** train_state.json as written by the trainer. */
  state: Record<string, unknown>;
  /** The run's inputs.json (corpus and tokenizer fingerprints), when it has one. */
  inputs: RunInputs | null;
}

/**
 * Loads the checkpoint to export from `dir`. `prefer` "best" takes the run's best/ checkpoint (the
 * one `mlm fill` uses); "latest" its newest last-* checkpoint, else best/.
 *
 * @example
 *   const src = await readExportSource("runs/tiny", "latest");
 *   console.log(src.checkpointDir, src.modelConfig.numLayers, src.optimizer !== undefined);
 */
export async function readExportSource(dir: string, prefer: "best" | "latest"): Promise<ExportSource> {
  const storage = platform().storage;
  let runDir: string | null = null;
  // Located again when a trainer pruned it while it was read (a run in training: loadLocatedCheckpoint).
  const { dir: checkpointDir, checkpoint: ckpt } = await loadLocatedCheckpoint(
    async () => {
      const found = await resolveCheckpointDir(dir);
      runDir = found.runDir;
      // A run directory given (not one of its checkpoints): "latest" prefers its newest last-* checkpoint.
      const run = found.runDir;
      const givenRun = run !== null && storage.path.resolve(found.checkpointDir) !== storage.path.resolve(dir);
      const latest = prefer === "latest" && givenRun ? await new RunDirectory(run).latestCheckpoint() : null;
      return latest ?? found.checkpointDir;
    },
    { optimizer: prefer === "latest" },
  );
  const tokenizerPath = storage.path.join(checkpointDir, CHECKPOINT_FILES.tokenizer);
  const tokenizer = Tokenizer.fromJSON(ckpt.tokenizerJson, tokenizerPath);
  const { config, modelConfig } = parseCheckpointConfig(
    ckpt.config,
    storage.path.join(checkpointDir, CHECKPOINT_FILES.config),
    tokenizer.vocabSize,
  );
  return {
    checkpointDir,
    runDir,
    config,
    modelConfig,
    tokenizer,
    tokenizerJson: ckpt.tokenizerJson,
    tensors: ckpt.tensors,
    optimizer: ckpt.optimizer,
    state: ckpt.state,
    inputs: runDir === null ? null : await readRunInputs(runDir),
  };
}
