/**
 * Fingerprints of input files (a corpus, a tokenizer): the size and SHA-256 of their bytes, so that a
 * run can tell whether the file it was trained on is still the same one. Neither the path nor the
 * modification time is part of a fingerprint, so a copied or cloned file still matches.
 *
 * Hashing a corpus of gigabytes takes seconds, so hashes are remembered in a small JSON file
 * (`fingerprints.json` in a cache folder) keyed by path, size and modification time: only a file whose
 * size or time changed is read again. A file modified less than two seconds before it was hashed is not
 * remembered (as git treats its index), since a second write within the same clock tick would keep
 * both the size and the time.
 *
 * @example
 *   const before = await fingerprintFile("data/it-en.tsv", { cacheDir: ".cache/mlm-ts" });
 *   // { path: "/home/me/data/it-en.tsv", size: 29180233, sha256: "5f1e..." }
 *   const after = await fingerprintFile("data/it-en.tsv"); // null for a pipe, which has no fixed contents
 *   const change = before !== null && after !== null ? fingerprintChange(before, after) : null;
 *   if (change !== null) throw new Error(`the corpus changed: ${change}`);
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "./atomic-write.js";
import { textFingerprint } from "./sha256.js";

/** What identifies a file's contents. */
export interface FileFingerprint {
  /** Where the file was when it was fingerprinted (absolute); not compared. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the bytes, lowercase hex. */
  sha256: string;
}

/** The cache file's name inside its folder. */
export const FINGERPRINT_CACHE_FILE = "fingerprints.json";
/** Entries kept in the cache (the most recently used). */
const CACHE_ENTRIES = 256;
/** A file modified this recently (ms) when hashed is not cached: see the module comment. */
const RACY_MS = 2000;

interface CacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
  /** When the entry was last used (ms since 1970), to keep the most recent ones. */
  used: number;
}

/**
 * The fingerprint of the file at `path`, from the cache in `options.cacheDir` when its size and
 * modification time are unchanged. Returns null for a pipe or device, whose bytes cannot be read
 * twice. Errors (a missing file) are one line naming the path.
 */
export async function fingerprintFile(
  path: string,
  options: { cacheDir?: string } = {},
): Promise<FileFingerprint | null> {
  const absolute = resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? String(err)})`);
  }
  if (info.isDirectory()) throw new Error(`${path}: is a directory, expected a file`);
  if (!info.isFile()) return null;
  const cachePath = options.cacheDir === undefined ? null : join(options.cacheDir, FINGERPRINT_CACHE_FILE);
  const cache = cachePath === null ? {} : await readCache(cachePath);
  const hit = cache[absolute];
  if (hit !== undefined && hit.size === info.size && hit.mtimeMs === info.mtimeMs) {
    hit.used = Date.now();
    if (cachePath !== null) await writeCache(cachePath, cache);
    return { path: absolute, size: hit.size, sha256: hit.sha256 };
  }
  const sha256 = await hashFile(absolute, path);
  if (cachePath !== null && Date.now() - info.mtimeMs >= RACY_MS) {
    cache[absolute] = { size: info.size, mtimeMs: info.mtimeMs, sha256, used: Date.now() };
    await writeCache(cachePath, cache);
  }
  return { path: absolute, size: info.size, sha256 };
}

/**
 * Remembers the SHA-256 of a file hashed elsewhere (while it was streamed for another purpose), so
 * that `fingerprintFile` finds it without reading the file again. `info` is the file's size and
 * modification time when reading started; a file changed since is not remembered.
 *
 * @example
 *   // info: the file's size and mtime when streaming began; sha256: of the bytes streamed
 *   await rememberFingerprint("corpus.txt.gz", info, sha256, ".cache/mlm-ts");
 */
export async function rememberFingerprint(
  path: string,
  info: { size: number; mtimeMs: number },
  sha256: string,
  cacheDir: string,
): Promise<FileFingerprint> {
  const absolute = resolve(path);
  const now = await stat(absolute).catch(() => null);
  const unchanged = now !== null && now.size === info.size && now.mtimeMs === info.mtimeMs;
  if (unchanged && Date.now() - info.mtimeMs >= RACY_MS) {
    const cachePath = join(cacheDir, FINGERPRINT_CACHE_FILE);
    const cache = await readCache(cachePath);
    cache[absolute] = { size: info.size, mtimeMs: info.mtimeMs, sha256, used: Date.now() };
    await writeCache(cachePath, cache);
  }
  return { path: absolute, size: info.size, sha256 };
}

/** The fingerprint of `text` written as UTF-8 to `path` (e.g. a tokenizer.json just written). */
export function fingerprintText(path: string, text: string): FileFingerprint {
  return textFingerprint(resolve(path), text);
}

/**
 * What changed between two fingerprints of one file, in words ("was 120 bytes (sha256 1a2b3c4d...),
 * now 131 bytes (sha256 9f8e7d6c...)"), or null when the contents are the same. `current` null means
 * the file can no longer be fingerprinted (it became a pipe).
 */
export function fingerprintChange(recorded: FileFingerprint, current: FileFingerprint | null): string | null {
  const describe = (f: FileFingerprint): string => `${f.size} bytes (sha256 ${f.sha256.slice(0, 12)}...)`;
  if (current === null) return `was ${describe(recorded)}, now a pipe or device that cannot be compared`;
  if (current.size === recorded.size && current.sha256 === recorded.sha256) return null;
  return `was ${describe(recorded)}, now ${describe(current)}`;
}

/** Whether `value` has the fields of a FileFingerprint (for readers of recorded fingerprints). */
export function isFileFingerprint(value: unknown): value is FileFingerprint {
  const f = value as Partial<FileFingerprint> | null;
  return (
    typeof f === "object" &&
    f !== null &&
    typeof f.path === "string" &&
    typeof f.size === "number" &&
    Number.isSafeInteger(f.size) &&
    f.size >= 0 &&
    typeof f.sha256 === "string" &&
    /^[0-9a-f]{64}$/.test(f.sha256)
  );
}

async function hashFile(absolute: string, shown: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(absolute, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    throw new Error(`${shown}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return hash.digest("hex");
}

/** The cache's entries; an unreadable or malformed cache is an empty one (it is only a cache). */
async function readCache(path: string): Promise<Record<string, CacheEntry>> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { version?: unknown; files?: unknown };
    if (parsed.version !== 1 || typeof parsed.files !== "object" || parsed.files === null) return {};
    const out: Record<string, CacheEntry> = Object.create(null) as Record<string, CacheEntry>;
    for (const [key, e] of Object.entries(parsed.files as Record<string, Partial<CacheEntry>>)) {
      if (
        typeof e?.size === "number" &&
        typeof e.mtimeMs === "number" &&
        typeof e.used === "number" &&
        typeof e.sha256 === "string" &&
        /^[0-9a-f]{64}$/.test(e.sha256)
      )
        out[key] = { size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256, used: e.used };
    }
    return out;
  } catch {
    return {};
  }
}

/** Writes the most recently used entries; a cache that cannot be written is skipped. */
async function writeCache(path: string, cache: Record<string, CacheEntry>): Promise<void> {
  const kept = Object.entries(cache)
    .sort((a, b) => b[1].used - a[1].used)
    .slice(0, CACHE_ENTRIES);
  try {
    await writeFileAtomic(path, JSON.stringify({ version: 1, files: Object.fromEntries(kept) }) + "\n");
  } catch {
    // only a cache: the next run hashes again
  }
}
