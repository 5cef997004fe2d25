/**
 * inputs.json: fingerprints (size and SHA-256, util/file-fingerprint.ts) of what a run was trained on,
 * its corpus and its tokenizer.json, written when the run starts:
 *
 *   {"corpus": {"path": "/data/it-en.tsv", "size": 29180233, "sha256": "5f1e..."},
 *    "tokenizer": {"path": "/runs/demo/tokenizer.json", "size": 512034, "sha256": "a0b1..."}}
 *
 * `corpus` is null when the corpus was a pipe. A fine-tuning run given a validation file (`--valid FILE`)
 * also records it as `valid`, by its absolute path. Before a run is resumed or its validation split is
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
import { sha256Hex, textFingerprint } from "../util/sha256.js";
import { jsonObjectText, readJsonObject } from "./json-file.js";
import { RUN_FILES } from "./layout.js";

/** What a run was trained on. */
export interface RunInputs {
  /** The corpus file; null when it was a pipe or device. */
  corpus: FileFingerprint | null;
  /** The run's tokenizer.json. */
  tokenizer: FileFingerprint;
  /** The validation file a fine-tuning run was given (its --valid FILE); absent otherwise. */
  valid?: FileFingerprint;
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
  if (raw.valid === undefined) return { corpus: raw.corpus, tokenizer: raw.tokenizer };
  if (!isFileFingerprint(raw.valid))
    throw new Error(`${path}: "valid" must be {"path", "size", "sha256"}, got ${JSON.stringify(raw.valid)}`);
  return { corpus: raw.corpus, tokenizer: raw.tokenizer, valid: raw.valid };
}

/**
 * The fingerprint of the file at `path` read through `storage` (a validation file: small, read whole),
 * by its absolute path; null when there is no such file.
 */
export async function fingerprintStoredFile(
  path: string,
  storage: Storage = platform().storage,
): Promise<FileFingerprint | null> {
  const absolute = storage.path.resolve(path);
  if ((await storage.stat(absolute)) === null) return null;
  const bytes = await storage.readBytes(absolute);
  return { path: absolute, size: bytes.length, sha256: sha256Hex(bytes) };
}

/**
 * Refuses (one line naming the file, and its old and new size or hash) when the corpus (fingerprinted
 * by `currentCorpus`, called only when there is something to compare), the validation file recorded
 * (read again at its recorded path, the one a resumed fine-tuning run reads) or the run's
 * tokenizer.json differ from the run's inputs.json; `consequence` says what would go wrong ("resuming would train
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
  if (recorded.valid !== undefined) {
    const valid = await fingerprintStoredFile(recorded.valid.path, storage);
    if (valid === null) changes.push(`the validation file ${recorded.valid.path} is missing`);
    else {
      const change = fingerprintChange(recorded.valid, valid);
      if (change !== null) changes.push(`the validation file ${recorded.valid.path} changed: ${change}`);
    }
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
