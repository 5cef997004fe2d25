/**
 * The rule of every command that writes a file named on its command line: it never writes over one of
 * its inputs (compared as real paths and as files, so symbolic and hard links count), and it replaces
 * an existing file only with `--force`. (Folders: src/interop/output-folder.ts, given real paths.)
 */
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { OutputFolderError } from "../interop/output-folder.js";
import { UsageError } from "./flags.js";

/**
 * Throws a one-line error when `out` is one of `inputs` (`flag` names the option, e.g. "--out"), is a
 * directory, or exists while `force` is false.
 *
 * @example
 *   checkOutputPath("--out", "tokenizer.json", ["corpus.txt"], false);
 */
export function checkOutputPath(flag: string, out: string, inputs: readonly string[], force: boolean): void {
  const target = identities(out);
  for (const input of inputs) {
    if (identities(input).some((id) => target.includes(id)))
      throw new Error(
        `${flag} ${out} is also an input (${input}): writing it would destroy that input; choose another path`,
      );
  }
  const info = statSync(resolve(out), { throwIfNoEntry: false });
  if (info?.isDirectory()) throw new Error(`${flag} ${out} is a directory, expected a file path`);
  if (info !== undefined && !force) throw new Error(`${out} already exists; use --force to replace it`);
}

/**
 * `path` with its symbolic links resolved (in the part that exists; ".." resolved first), for the
 * checks of an output folder against its inputs (src/interop/output-folder.ts).
 */
export function realPath(path: string): string {
  return realPrefix(resolve(path));
}

/**
 * What a path designates: its real path (".." resolved first, as writing it creates the missing
 * folders, then links resolved in the part that exists) and, when it exists, its device and inode.
 */
function identities(path: string): string[] {
  const lexical = resolve(path);
  const ids = [`path ${realPrefix(lexical)}`];
  const info = statSync(lexical, { throwIfNoEntry: false });
  if (info !== undefined) ids.push(`inode ${info.dev}:${info.ino}`);
  return ids;
}

/** The real path of the deepest existing folder of absolute `path`, with the rest of `path` after it. */
function realPrefix(path: string): string {
  const rest: string[] = [];
  for (let at = path; ; at = dirname(at)) {
    try {
      return join(realpathSync(at), ...rest);
    } catch {
      if (dirname(at) === at) return path;
      rest.unshift(basename(at));
    }
  }
}

/** The result of `work`; a refused output folder becomes a UsageError (a bad --out: exit code 2). */
export async function asUsageError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw err instanceof OutputFolderError ? new UsageError(err.message) : err;
  }
}

/**
 * Throws a UsageError when folder `dir` (the value of `flag`, e.g. "--out-dir") cannot be a folder:
 * it, or the deepest part of its path that exists, is a file.
 *
 * @example
 *   checkOutputFolderPath("--out-dir", "notes.txt/run"); // UsageError: --out-dir notes.txt/run: notes.txt is a file, not a folder
 */
export function checkOutputFolderPath(flag: string, dir: string): void {
  for (let at = resolve(dir); ; at = dirname(at)) {
    const info = statBelowFiles(at);
    if (info !== undefined) {
      if (!info.isDirectory())
        throw new UsageError(`${flag} ${dir}: ${at} is a file, not a folder; choose a folder path`);
      return;
    }
    if (dirname(at) === at) return;
  }
}

/** What is at `path`, or undefined when nothing is (also when a part of it is a file: ENOTDIR). */
function statBelowFiles(path: string): ReturnType<typeof statSync> {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw err;
  }
}
