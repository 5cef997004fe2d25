/**
 * Crash-safe writes of whole directories (checkpoints), on any `Storage`.
 *
 * `writeDirectoryAtomic` fills a fresh `<target>.tmp-<random>` directory (each file written with the
 * storage's atomic write, which on Node fsyncs it and its directory), then swaps it in with two
 * renames:
 *
 *     1. target            -> <target>.old-<random>   (skipped when there is no target yet)
 *     2. <target>.tmp-...  -> target
 *     3. delete <target>.old-<random>
 *
 * Guarantee: if the process dies at any point (SIGKILL, an exception, or a power loss on a file system
 * that honours fsync), then after `recoverDirectory(target)` the target holds either the complete old
 * contents or the complete new contents, never a mix. Between renames 1 and 2 the target path briefly
 * does not exist; `recoverDirectory` handles that by renaming the aside copy back. A leftover
 * `.tmp-*` directory is never trusted (it may be half written) and is deleted. `writeDirectoryAtomic`
 * (and `loadCheckpoint` with `repair`, when the trainer resumes) call `recoverDirectory` first.
 * Readers that may run beside a writer use `readableDirectory`, which changes nothing and reads the
 * aside copy while the target is missing. Not supported: two processes writing the same target at
 * the same time.
 *
 * @example
 *   await writeDirectoryAtomic("runs/a/best", async (dir) => {
 *     await dir.writeFile("config.json", JSON.stringify(config));
 *     await dir.writeFile("model.safetensors", writeSafetensors(tensors));
 *   });
 */
import type { FileData, Storage } from "../platform/index.js";
import { platform } from "../platform/index.js";

/** Stages of `writeDirectoryAtomic`, reported to `onStage` (used by tests to inject crashes). */
export type SwapStage = `wrote:${string}` | "temp-complete" | "old-aside" | "new-in" | "done";

export interface DirectoryWriteOptions {
  /** Called (and awaited) at each stage; throwing from it aborts the write as a crash there would (minus cleanup). */
  onStage?: (stage: SwapStage) => void | Promise<void>;
  /** Where to write (default: the platform's storage). */
  storage?: Storage;
}

/** A directory being filled by `writeDirectoryAtomic`: write each file through it. */
export interface DirectoryWriter {
  /** The temp directory's path. */
  readonly path: string;
  /** Writes one file inside the temp directory. `name` is a file name or "folder/name", each written once. */
  writeFile(name: string, data: FileData): Promise<void>;
}

/** A suffix that no other write of the same target uses at the same time. */
function randomSuffix(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Leftovers of interrupted directory writes of `target` (an absolute path), by kind. */
async function leftovers(storage: Storage, target: string): Promise<{ temps: string[]; asides: string[] }> {
  const parent = storage.path.dirname(target);
  const base = storage.path.basename(target);
  const temps: string[] = [];
  const asides: string[] = [];
  for (const name of await storage.list(parent)) {
    if (name.startsWith(`${base}.tmp-`)) temps.push(storage.path.join(parent, name));
    else if (name.startsWith(`${base}.old-`)) asides.push(storage.path.join(parent, name));
  }
  return { temps, asides };
}

/** `paths` newest first (several asides only arise from repeated crashes without recovery). */
async function newestFirst(storage: Storage, paths: string[]): Promise<string[]> {
  const times = new Map<string, number>();
  for (const p of paths) times.set(p, (await storage.stat(p))?.modifiedMs ?? 0);
  return [...paths].sort((a, b) => (times.get(b) ?? 0) - (times.get(a) ?? 0));
}

/**
 * Repairs what an interrupted `writeDirectoryAtomic(target)` left: when `target` is missing but an
 * aside copy (`<target>.old-*`, the previous complete version) exists, renames it back; then deletes
 * every `<target>.tmp-*` and remaining `<target>.old-*`. Returns true when something was changed.
 */
export async function recoverDirectory(target: string, storage: Storage = platform().storage): Promise<boolean> {
  target = storage.path.resolve(target); // "ckpt/" and "ckpt" name the same leftovers
  const { temps, asides } = await leftovers(storage, target);
  if (temps.length === 0 && asides.length === 0) return false;
  let rest = asides;
  if ((await storage.stat(target)) === null && asides.length > 0) {
    const [restored, ...older] = await newestFirst(storage, asides);
    await storage.rename(restored, target);
    rest = older;
  }
  for (const path of [...temps, ...rest]) await storage.remove(path);
  return true;
}

/**
 * The directory to read for `target` without changing anything (safe while a writer may be at work
 * in another process): `target` itself, or, when a crash (or a writer right now) sits between the two
 * renames, the newest aside copy `<target>.old-*`, which is the previous complete version. Returns
 * `target` when neither exists.
 */
export async function readableDirectory(target: string, storage: Storage = platform().storage): Promise<string> {
  const resolved = storage.path.resolve(target);
  if ((await storage.stat(resolved)) !== null) return target;
  const { asides } = await leftovers(storage, resolved);
  if (asides.length === 0) return target;
  return (await newestFirst(storage, asides))[0];
}

/**
 * Writes a directory as one unit (see the module comment for the exact guarantee). `fill` writes the
 * files through the given `DirectoryWriter`; when it throws, the temp directory is deleted and the
 * previous contents of `target` are untouched.
 */
export async function writeDirectoryAtomic(
  target: string,
  fill: (dir: DirectoryWriter) => Promise<void>,
  options: DirectoryWriteOptions = {},
): Promise<void> {
  const storage = options.storage ?? platform().storage;
  const { path } = storage;
  target = path.resolve(target);
  const stage = options.onStage ?? (() => {});
  await recoverDirectory(target, storage);

  const temp = `${target}.tmp-${randomSuffix()}`;
  const written = new Set<string>();
  try {
    await fill({
      path: temp,
      async writeFile(name: string, data: FileData): Promise<void> {
        // A plain file name, or such names joined by "/" (a file in a sub-folder: "data/train_ids.npy").
        if (
          name.split("/").some((part) => part !== path.basename(part) || part === "" || part === "." || part === "..")
        ) {
          throw new Error(`writeDirectoryAtomic: "${name}" must be a relative file path without "." or ".."`);
        }
        if (written.has(name)) throw new Error(`writeDirectoryAtomic: "${name}" written twice`);
        written.add(name);
        await storage.writeAtomic(path.join(temp, ...name.split("/")), data);
        await stage(`wrote:${name}`);
      },
    });
    if (written.size === 0) throw new Error(`writeDirectoryAtomic: no file written for ${target}`);
    await stage("temp-complete");
  } catch (error) {
    await storage.remove(temp);
    throw error;
  }

  let aside: string | undefined;
  if ((await storage.stat(target)) !== null) {
    aside = `${target}.old-${randomSuffix()}`;
    await storage.rename(target, aside);
    await stage("old-aside");
  }
  await storage.rename(temp, target);
  await stage("new-in");
  if (aside !== undefined) await storage.remove(aside);
  await stage("done");
}
