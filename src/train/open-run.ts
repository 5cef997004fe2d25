/**
 * Opening the run directory of `train`. The lock comes first: nothing in the directory is read or
 * written before it, so a second trainer, or a resume of a run being trained, is refused before it can
 * disturb the first. Then a new run refuses a directory that already holds one, unless `force`, which
 * deletes the old run's files (never other files of the folder, nor an input of the new run); a
 * resumed run refuses a corpus or tokenizer.json that changed since the run started.
 */
import type { TrainConfig } from "../config/index.js";
import {
  bundledCorpusPath,
  corpusFingerprint,
  requireCorpusFile,
  streamsCorpus,
  type InMemoryCorpus,
} from "../data/index.js";
import type { RunDirectory, RunLock } from "../run/index.js";
import type { FileFingerprint } from "../util/file-fingerprint.js";

/** What a resume on changed inputs would do, for the refusal's line. */
export const RESUME_CONSEQUENCE = "resuming would continue on other data than the run was trained on";

/** A run directory ready for training, locked by this process until `lock.release()`. */
export interface OpenedRun {
  lock: RunLock;
  /** The checkpoint a resumed run continues from; null for a new run. */
  resumeFrom: string | null;
  /**
   * A new run's corpus fingerprint (null for a pipe) for its inputs.json; null when resuming, and for a
   * streamed corpus (prepareData computes it while reading).
   */
  corpus: FileFingerprint | null;
}

/**
 * Locks and checks `run`, the directory of a new (`resume` undefined) or resumed run; see the module
 * comment. Errors are one line naming the directory and what to do.
 *
 * @example
 *   const { lock, resumeFrom } = await openRun(new RunDirectory("runs/demo"), config, { force: true }, console.error);
 */
export async function openRun(
  run: RunDirectory,
  config: TrainConfig,
  options: {
    resume?: string;
    force?: boolean;
    corpus?: InMemoryCorpus;
    labelled?: Readonly<Record<string, string | Uint8Array>>;
  },
  log: (line: string) => void,
): Promise<OpenedRun> {
  if (options.resume !== undefined && options.force)
    throw new Error("force starts a run afresh and resume continues one: give one of them");
  const lock = await run.lock(log);
  try {
    // Data in memory has no file to fingerprint (like a pipe's): its run resumes unchecked.
    const inMemory = options.corpus !== undefined || options.labelled !== undefined;
    const corpusPath = config.data ?? (inMemory ? "" : bundledCorpusPath());
    if (options.resume !== undefined) {
      const resumeFrom = await latestCheckpoint(run);
      const fingerprint = async (): Promise<FileFingerprint | null> =>
        inMemory ? null : corpusFingerprint(corpusPath, { cacheDir: config.cacheDir });
      await run.checkInputs(fingerprint, RESUME_CONSEQUENCE);
      return { lock, resumeFrom, corpus: null };
    }
    const old = await run.runEntries();
    if (old.length > 0) {
      const names = old.map((p) => run.storage.path.basename(p)).sort();
      if (!options.force)
        throw new Error(
          `${run.dir} already holds a run (${names.slice(0, 4).join(", ")}${names.length > 4 ? ", ..." : ""}): ` +
            `continue it with --resume ${run.dir}, or start it afresh with --force (deleting its checkpoints and logs)`,
        );
      refuseDeletingInputs(run, old, config);
      for (const entry of old) await run.storage.remove(entry);
      log(`--force: deleted the previous run in ${run.dir} (${names.join(", ")})`);
    }
    if (inMemory) return { lock, resumeFrom: null, corpus: null };
    await requireCorpusFile(corpusPath);
    // A streamed corpus is fingerprinted while it is read (prepareData), not in a pass of its own.
    if (await streamsCorpus(config)) return { lock, resumeFrom: null, corpus: null };
    return { lock, resumeFrom: null, corpus: await corpusFingerprint(corpusPath, { cacheDir: config.cacheDir }) };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The newest `last-*` checkpoint of a run, the one --resume continues from. */
async function latestCheckpoint(run: RunDirectory): Promise<string> {
  const latest = await run.latestCheckpoint();
  if (latest === null)
    throw new Error(`${run.dir}: no latest checkpoint (last-*) to resume from; was it trained with --keep-last 0?`);
  return latest;
}

/** Throws when the corpus or tokenizer file of the new run is one of the `entries` --force would delete. */
function refuseDeletingInputs(run: RunDirectory, entries: string[], config: TrainConfig): void {
  const { path } = run.storage;
  const inputs: [string, string | null][] = [
    ["the corpus", config.data],
    ["the tokenizer", config.tokenizer],
  ];
  for (const [what, file] of inputs) {
    if (file === null) continue;
    // The file itself, or anything inside a deleted folder (best/tokenizer.json).
    for (let p = path.resolve(file); p !== path.dirname(p); p = path.dirname(p)) {
      if (entries.includes(p))
        throw new Error(
          `--force would delete ${file}, ${what} of the new run, with the previous run in ${run.dir}; copy it out of the run directory first`,
        );
    }
  }
}
