/**
 * A run directory as a list of files (paths relative to the run, "/"-separated, with their bytes), to
 * pack it into one archive or to copy it between storages (a browser tab's run downloaded as a .zip
 * that the CLI loads unpacked, or a CLI run opened in a tab). The lock file is left out: it belongs to
 * the trainer that holds it, not to the run.
 *
 * @example
 *   const files = await readRunFiles("runs/demo"); // [{ path: "config.json", bytes }, ...]
 *   await writeRunFiles("runs/copy", files); // the same run under another name
 */
import { platform, type Storage } from "../platform/index.js";
import { RUN_FILES } from "./layout.js";

/** One file of a run directory. */
export interface RunFile {
  /** Relative to the run directory, parts joined with "/". */
  path: string;
  bytes: Uint8Array;
}

/** Every file of the run directory `dir` (folders walked), without lock.json; sorted by path. */
export async function readRunFiles(dir: string, storage: Storage = platform().storage): Promise<RunFile[]> {
  const files: RunFile[] = [];
  const walk = async (at: string, prefix: string): Promise<void> => {
    for (const name of (await storage.list(at)).sort()) {
      const path = storage.path.join(at, name);
      const info = await storage.stat(path);
      if (info?.kind === "directory") await walk(path, `${prefix}${name}/`);
      else if (info?.kind === "file" && !(prefix === "" && name === RUN_FILES.lock))
        files.push({ path: prefix + name, bytes: await storage.readBytes(path) });
    }
  };
  if ((await storage.stat(dir))?.kind !== "directory") throw new Error(`${dir}: not a run directory (no such folder)`);
  await walk(dir, "");
  return files;
}

/**
 * Writes `files` into the run directory `dir`, which must not hold a run yet. A path that climbs out of
 * the directory ("..", an absolute path) is refused, naming it.
 */
export async function writeRunFiles(
  dir: string,
  files: readonly RunFile[],
  storage: Storage = platform().storage,
): Promise<void> {
  if ((await storage.stat(storage.path.join(dir, RUN_FILES.config))) !== null)
    throw new Error(`${dir} already holds a run (${RUN_FILES.config})`);
  for (const { path } of files) {
    const parts = path.split("/");
    if (path.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === ""))
      throw new Error(`${path}: not a path inside a run directory`);
  }
  for (const { path, bytes } of files) await storage.writeAtomic(storage.path.join(dir, ...path.split("/")), bytes);
}
