/**
 * mlm-ts for browsers (the package's "./browser" entry, built as one ES module for bundlers): the
 * library's browser-safe parts and the browser platform. Install the platform first, in a dedicated
 * Worker (the engine waits with Atomics.wait, which a page's main thread may not), then train on text
 * you fetched or a user picked: runs are written to the origin-private file system in the CLI's
 * run-directory layout.
 *
 * @example
 *   import { browserPlatform, setPlatform, resolveConfig, textCorpus, train } from "mlm-ts/browser";
 *   setPlatform(browserPlatform());
 *   const text = await (await fetch("tatoeba-en.txt")).text();
 *   const summary = await train(resolveConfig({ maxSteps: 100, outDir: "runs/demo", progress: false }), {
 *     corpus: textCorpus("tatoeba-en.txt", text),
 *   });
 *   console.log(summary.bestValidLoss);
 *   // a classifier from that run, on a labelled file in memory (a dropped file's bytes or text)
 *   const tsv = "text\tlabel\nI like it\tpos\nI hate it\tneg\n";
 *   const config = resolveConfig({ ...FINETUNE_DEFAULTS, data: "mine.tsv", progress: false });
 *   await finetune({ config, from: "runs/demo" }, { labelled: { "mine.tsv": tsv } });
 */
export { browserPlatform, threadSupport, BROWSER_HOST } from "./platform/browser.js";
export { opfsStorage, opfsPath } from "./platform/opfs-storage.js";
export { platform, setPlatform, type Platform, type Storage } from "./platform/index.js";
export { DEFAULT_CONFIG, resolveConfig, type TrainConfig } from "./config/index.js";
export { textCorpus, parseLabelled, labelledFromMemory, type InMemoryCorpus } from "./data/index.js";
export { Tokenizer, trainBpe, trainBpeFromSentences } from "./tokenizer/index.js";
export { train, type TrainOptions, type TrainSummary } from "./train/trainer.js";
export {
  finetune,
  resumeFinetune,
  FINETUNE_DEFAULTS,
  type FinetuneRequest,
  type FinetuneSummary,
} from "./train/finetune.js";
export {
  loadModel,
  fillMask,
  fillMasks,
  classify,
  type FillMaskPrediction,
  type LoadedModel,
  type ClassificationOutput,
} from "./pipelines/index.js";
export {
  RunDirectory,
  defaultRunDir,
  readRunFiles,
  writeRunFiles,
  readRunStatus,
  parseMetrics,
  type RunFile,
  type MetricsRecord,
} from "./run/index.js";
