/**
 * inputs.json: fingerprints (size and SHA-256, util/file-fingerprint.ts) of what a run was trained on,
 * its corpus and its tokenizer.json, written when the run starts:
 *
 *   {"corpus": {"path": "/data/it-en.tsv", "size": 29180233, "sha256": "5f1e..."},
 *    "tokenizer": {"path": "/runs/demo/tokenizer.json", "size": 512034, "sha256": "a0b1..."}}
 *
 * `corpus` is null when the corpus was a pipe. Before a run is resumed or its validation split is
 * scored again, `checkRunInputs` compares the files as they are now with these fingerprints and refuses
 * a change: the sample and the split would hold other sentences, and losses would compare other data.
 * Runs made before the file existed (format 0, and early format-1 runs) have none and are not checked.
 *
 * @example
 *   await writeRunInputs("runs/demo", { corpus, tokenizer });
 *   await checkRunInputs("runs/demo", () => fingerprintFile("data/it-en.tsv"), "resuming would train on other sentences");
 */
import { platform, type Storage } from "../platform/index.js";
import { fingerprintChange, isFileFingerprint, type FileFingerprint } from "../util/file-fingerprint.js";
import { textFingerprint } from "../util/sha256.js";
import { jsonObjectText, readJsonObject } from "./json-file.js";
import { RUN_FILES } from "./layout.js";

/** What a run was trained on. */
export interface RunInputs {
  /** The corpus file; null when it was a pipe or device. */
  corpus: FileFingerprint | null;
  /** The run's tokenizer.json. */
  tokenizer: FileFingerprint;
}

/** Writes the run's inputs.json. */
export async function writeRunInputs(
  runDir: string,
  inputs: RunInputs,
  storage: Storage = platform().storage,
): Promise<void> {
  const path = storage.path.join(runDir, RUN_FILES.inputs);
  await storage.writeAtomic(path, jsonObjectText(inputs, path));
}

/** The run's recorded inputs, or null when it has none (an older run). Throws naming a malformed field. */
export async function readRunInputs(runDir: string, storage: Storage = platform().storage): Promise<RunInputs | null> {
  const path = storage.path.join(runDir, RUN_FILES.inputs);
  if ((await storage.stat(path)) === null) return null;
  const raw = await readJsonObject(storage, path);
  if (raw.corpus !== null && !isFileFingerprint(raw.corpus))
    throw new Error(`${path}: "corpus" must be null or {"path", "size", "sha256"}, got ${JSON.stringify(raw.corpus)}`);
  if (!isFileFingerprint(raw.tokenizer))
    throw new Error(`${path}: "tokenizer" must be {"path", "size", "sha256"}, got ${JSON.stringify(raw.tokenizer)}`);
  return { corpus: raw.corpus, tokenizer: raw.tokenizer };
}

/**
 * Refuses (one line naming the file, and its old and new size or hash) when the corpus (fingerprinted
 * by `currentCorpus`, called only when there is something to compare) or the run's tokenizer.json
 * differ from the run's inputs.json; `consequence` says what would go wrong ("resuming would train
 * and validate on other sentences"). Does nothing for a run without inputs.json.
 */
export async function checkRunInputs(
  runDir: string,
  currentCorpus: () => Promise<FileFingerprint | null>,
  consequence: string,
  storage: Storage = platform().storage,
): Promise<void> {
  const recorded = await readRunInputs(runDir, storage);
  if (recorded === null) return;
  const changes: string[] = [];
  if (recorded.corpus !== null) {
    const corpus = await currentCorpus();
    const change = fingerprintChange(recorded.corpus, corpus);
    if (change !== null) changes.push(`the corpus ${corpus?.path ?? recorded.corpus.path} changed: ${change}`);
  }
  const tokenizerPath = storage.path.join(runDir, RUN_FILES.tokenizer);
  const tokenizer = textFingerprint(storage.path.resolve(tokenizerPath), await storage.readText(tokenizerPath));
  const change = fingerprintChange(recorded.tokenizer, tokenizer);
  if (change !== null) changes.push(`the tokenizer ${tokenizerPath} changed: ${change}`);
  if (changes.length > 0)
    throw new Error(
      `${runDir}: since the run started (${RUN_FILES.inputs}), ${changes.join("; ")}; ${consequence}. Restore the file, or start a new run`,
    );
}
