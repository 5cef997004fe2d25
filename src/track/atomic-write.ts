/**
 * Crash-safe writes of single files and of whole directories (checkpoints).
 *
 * Files: `writeFileAtomic` writes a uniquely named temp file next to the target, fsyncs it, renames it
 * over the target (rename is atomic within one file system) and fsyncs the directory, so a reader sees
 * either the old file or the complete new one, never a torn write.
 *
 * Directories: `writeDirectoryAtomic` fills a fresh `<target>.tmp-<random>` directory, fsyncs every file
 * and the directory, then swaps it in with two renames:
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
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** Bytes to write: a string (written as UTF-8), one byte array, or several written back to back. */
export type FileData = string | Uint8Array | readonly Uint8Array[];

/** Stages of `writeDirectoryAtomic`, reported to `onStage` (used by tests to inject crashes). */
export type SwapStage = `wrote:${string}` | "temp-complete" | "old-aside" | "new-in" | "done";

export interface DirectoryWriteOptions {
  /** Called at each stage; throwing from it aborts the write as a crash there would (minus cleanup). */
  onStage?: (stage: SwapStage) => void;
}

/** A directory being filled by `writeDirectoryAtomic`: write each file through it. */
export interface DirectoryWriter {
  /** The temp directory's path. */
  readonly path: string;
  /** Writes (and fsyncs) one file inside the temp directory. `name` is a plain file name. */
  writeFile(name: string, data: FileData): void;
}

function randomSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString("hex")}`;
}

/** Writes all of `data` to an open fd, then fsyncs it. */
function writeAllAndSync(fd: number, data: FileData): void {
  const chunks = typeof data === "string" ? [Buffer.from(data, "utf8")] : data instanceof Uint8Array ? [data] : data;
  for (const chunk of chunks) {
    let done = 0;
    while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
  }
  fsyncSync(fd);
}

/**
 * Makes a directory's entries (renames, new files) durable. Some platforms (Windows) cannot open or
 * fsync a directory; there it is skipped, since rename is the best available guarantee.
 */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `data` atomically: readers see the old file or the complete new one.
 * The temp file (`<path>.tmp-<pid>-<random>`) is removed if anything fails.
 *
 * @example
 *   writeFileAtomic("runs/a/config.json", JSON.stringify(config, null, 2) + "\n");
 *   writeFileAtomic("runs/a/model.safetensors", writeSafetensors(tensors));
 */
export function writeFileAtomic(path: string, data: FileData): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${randomSuffix()}`;
  const fd = openSync(temp, "wx");
  try {
    try {
      writeAllAndSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/** Leftovers of interrupted directory writes of `target`, by kind. */
function leftovers(target: string): { temps: string[]; asides: string[] } {
  const parent = dirname(target);
  const base = basename(target);
  const temps: string[] = [];
  const asides: string[] = [];
  if (!existsSync(parent)) return { temps, asides };
  for (const name of readdirSync(parent)) {
    if (name.startsWith(`${base}.tmp-`)) temps.push(join(parent, name));
    else if (name.startsWith(`${base}.old-`)) asides.push(join(parent, name));
  }
  return { temps, asides };
}

/**
 * Repairs what an interrupted `writeDirectoryAtomic(target)` left: when `target` is missing but an
 * aside copy (`<target>.old-*`, the previous complete version) exists, renames it back; then deletes
 * every `<target>.tmp-*` and remaining `<target>.old-*`. Returns true when something was changed.
 */
export function recoverDirectory(target: string): boolean {
  target = resolve(target); // "ckpt/" and "ckpt" name the same leftovers
  const { temps, asides } = leftovers(target);
  if (temps.length === 0 && asides.length === 0) return false;
  if (!existsSync(target) && asides.length > 0) {
    // Several asides only arise from repeated crashes without recovery; the newest is the latest good one.
    asides.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const restored = asides.shift() as string;
    renameSync(restored, target);
    fsyncDirectory(dirname(target));
  }
  for (const path of [...temps, ...asides]) rmSync(path, { recursive: true, force: true });
  return true;
}

/**
 * The directory to read for `target` without changing anything (safe while a writer may be at work
 * in another process): `target` itself, or, when a crash (or a writer right now) sits between the two
 * renames, the newest aside copy `<target>.old-*`, which is the previous complete version. Returns
 * `target` when neither exists.
 */
export function readableDirectory(target: string): string {
  const resolved = resolve(target);
  if (existsSync(resolved)) return target;
  const { asides } = leftovers(resolved);
  if (asides.length === 0) return target;
  asides.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return asides[0];
}

/**
 * Writes a directory as one unit (see the module comment for the exact guarantee). `fill` writes the
 * files through the given `DirectoryWriter`; when it throws, the temp directory is deleted and the
 * previous contents of `target` are untouched.
 *
 * @example
 *   writeDirectoryAtomic("runs/a/checkpoint", (dir) => {
 *     dir.writeFile("config.json", JSON.stringify(config));
 *     dir.writeFile("model.safetensors", writeSafetensors(tensors));
 *   });
 */
export function writeDirectoryAtomic(
  target: string,
  fill: (dir: DirectoryWriter) => void,
  options: DirectoryWriteOptions = {},
): void {
  target = resolve(target);
  const stage = options.onStage ?? (() => {});
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  recoverDirectory(target);

  const temp = `${target}.tmp-${randomSuffix()}`;
  mkdirSync(temp);
  try {
    fill({
      path: temp,
      writeFile(name: string, data: FileData): void {
        if (name !== basename(name) || name === "." || name === "..") {
          throw new Error(`writeDirectoryAtomic: "${name}" must be a plain file name`);
        }
        const fd = openSync(join(temp, name), "wx");
        try {
          writeAllAndSync(fd, data);
        } finally {
          closeSync(fd);
        }
        stage(`wrote:${name}`);
      },
    });
    fsyncDirectory(temp);
    stage("temp-complete");
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }

  let aside: string | undefined;
  if (existsSync(target)) {
    aside = `${target}.old-${randomSuffix()}`;
    renameSync(target, aside);
    stage("old-aside");
  }
  renameSync(temp, target);
  fsyncDirectory(parent);
  stage("new-in");
  if (aside !== undefined) rmSync(aside, { recursive: true, force: true });
  stage("done");
}
