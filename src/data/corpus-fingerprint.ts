/**
 * The fingerprint of a corpus (what a run records in inputs.json and checks on resume): a single
 * file's is its own (size and SHA-256, util/file-fingerprint.ts); a folder's or a glob's is the total
 * size and the SHA-256 of the list of (path relative to the corpus, size, SHA-256) of its files, so a
 * file added, removed, renamed or changed is noticed, and a copied folder still matches.
 *
 * @example
 *   await corpusFingerprint("corpora/wiki", { cacheDir: ".cache/mlm-ts" });
 *   // { path: "/abs/corpora/wiki", size: 2147483648, sha256: "9c1f..." }
 */
import { createHash } from "node:crypto";
import { relative, resolve } from "node:path";
import { fingerprintFile, type FileFingerprint } from "../util/file-fingerprint.js";
import { corpusFiles, isCorpusSet } from "./corpus-files.js";

/** The fingerprint of the corpus `spec` (null for a pipe); each file's hash comes from the cache when unchanged. */
export async function corpusFingerprint(
  spec: string,
  options: { cacheDir?: string } = {},
): Promise<FileFingerprint | null> {
  if (!(await isCorpusSet(spec))) return fingerprintFile(spec, options);
  const files: FileFingerprint[] = [];
  for (const path of await corpusFiles(spec)) {
    const f = await fingerprintFile(path, options);
    if (f !== null) files.push(f);
  }
  return combinedFingerprint(spec, files, true);
}

/** The fingerprint of a corpus from its files' fingerprints (a single file's own unless `isSet`). */
export function combinedFingerprint(spec: string, files: readonly FileFingerprint[], isSet = false): FileFingerprint {
  if (!isSet && files.length === 1) return files[0];
  const base = resolve(spec.replace(/[*?[].*$/, "") || ".");
  const h = createHash("sha256");
  for (const f of files) h.update(`${relative(base, f.path)}\t${f.size}\t${f.sha256}\n`);
  return { path: resolve(spec), size: files.reduce((s, f) => s + f.size, 0), sha256: h.digest("hex") };
}
