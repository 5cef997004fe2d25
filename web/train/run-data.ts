/**
 * The data the tab's runs train on: the bundled corpus (fetched beside the page), and the copies the
 * page keeps in the origin-private file system of a user's data so that a resumed run reads the same
 * data: corpora/<run>.txt for a masked language model's corpus, corpora/<run>/<file> for a
 * fine-tuning run's labelled files.
 */
import { opfsStorage as storage } from "../../src/platform/opfs-storage.js";
import type { LabelledFiles, TabCorpus } from "./protocol.js";

const BUNDLED = { name: "tatoeba-en.txt", url: new URL("tatoeba-en.txt", import.meta.url) };

/** A run's id: its folder's name under runs/. */
export const runId = (runDir: string): string => storage.path.basename(runDir);
const corpusCopy = (runDir: string): string => storage.path.join("corpora", `${runId(runDir)}.txt`);
const labelledCopy = (runDir: string, name: string): string => storage.path.join("corpora", runId(runDir), name);

export async function fetchBundled(): Promise<TabCorpus> {
  const response = await fetch(BUNDLED.url);
  if (!response.ok) throw new Error(`${BUNDLED.url.href}: HTTP ${response.status}`);
  return { name: BUNDLED.name, text: await response.text(), bundled: true };
}

/** Keeps a new run's corpus (a user's text file) for its resumes. */
export const keepCorpus = (runDir: string, text: string): Promise<void> =>
  storage.writeAtomic(corpusCopy(runDir), text);

/** Keeps one of a new fine-tuning run's labelled files, by its name, for its resumes. */
export const keepLabelled = (runDir: string, name: string, bytes: Uint8Array): Promise<void> =>
  storage.writeAtomic(labelledCopy(runDir, name), bytes);

/** The data a run was started on: the bundled corpus or the copies kept when it started. */
export async function runData(runDir: string): Promise<{ corpus: TabCorpus } | { files: LabelledFiles }> {
  const config = JSON.parse(await storage.readText(storage.path.join(runDir, "config.json"))) as {
    data: string | null;
    task?: string;
    classifier?: { valid: string | null };
  };
  if (config.task === "text-classification") {
    const names = [config.data!, ...(config.classifier?.valid == null ? [] : [config.classifier.valid])];
    const files: LabelledFiles = {};
    for (const name of names) {
      const copy = labelledCopy(runDir, storage.path.basename(name));
      if ((await storage.stat(copy)) === null)
        throw new Error(
          `${runDir}: its labelled file ${name} is not kept in this browser (the run was trained elsewhere)`,
        );
      files[name] = await storage.readBytes(copy);
    }
    return { files };
  }
  if (config.data === null) return { corpus: await fetchBundled() };
  return { corpus: { name: config.data, text: await storage.readText(corpusCopy(runDir)), bundled: false } };
}
