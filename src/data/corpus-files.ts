/**
 * The files of a corpus given as one path: a file, a folder (every file under it, hidden ones left
 * out) or a glob pattern (`*` and `?` within a name, `**` across folders, e.g. "wiki/**\/*.txt.gz").
 * The list is sorted by path, so a corpus always reads in the same order.
 *
 * @example
 *   await corpusFiles("corpora/wiki");          // ["/abs/corpora/wiki/part-000.txt.gz", ...]
 *   await corpusFiles("corpora/*.jsonl");       // the matching files
 *   isCorpusSet("data/tatoeba-en.txt");         // false: one file
 */
import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { missingCorpusHint } from "./paths.js";

const WILDCARD = /[*?[]/;

/** Whether `spec` is a glob pattern (and not a plain path). */
export function isGlob(spec: string): boolean {
  return WILDCARD.test(spec);
}

/** Whether `spec` may name several files: a glob or a folder. */
export async function isCorpusSet(spec: string): Promise<boolean> {
  if (isGlob(spec)) return true;
  const info = await stat(spec).catch(() => null);
  return info?.isDirectory() === true;
}

/**
 * The files `spec` names, absolute and sorted; one-line errors when there are none. A single file or
 * a pipe is returned as it is (checked when read).
 */
export async function corpusFiles(spec: string): Promise<string[]> {
  if (isGlob(spec)) {
    const { base, pattern } = splitGlob(spec);
    const files = (await walk(base, spec)).filter((f) => pattern.test(relative(base, f).split(sep).join("/")));
    if (files.length === 0) throw new Error(`${spec}: no file matches the pattern`);
    return files;
  }
  const info = await stat(spec).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new Error(`${spec}: file not found (${missingCorpusHint()})`);
    throw new Error(`${spec}: cannot read (${err.code ?? err.message})`);
  });
  if (!info.isDirectory()) return [resolve(spec)];
  const files = await walk(resolve(spec), spec);
  if (files.length === 0) throw new Error(`${spec}: the folder holds no corpus file`);
  return files;
}

/** The folder before the first wildcard, and a regular expression for the rest of the path. */
function splitGlob(spec: string): { base: string; pattern: RegExp } {
  const parts = spec.split(/[\\/]/);
  const firstWild = parts.findIndex((p) => WILDCARD.test(p));
  const baseParts = parts.slice(0, firstWild);
  const base = resolve(baseParts.length === 0 ? "." : baseParts.join("/") || (isAbsolute(spec) ? "/" : "."));
  let re = "";
  const rest = parts.slice(firstWild);
  rest.forEach((part, k) => {
    const last = k === rest.length - 1;
    if (part === "**") {
      re += last ? ".*" : "(?:[^/]+/)*";
      return;
    }
    for (let i = 0; i < part.length; i++) {
      const c = part[i];
      if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else if (c === "[") {
        const close = part.indexOf("]", i + 1);
        if (close === -1) throw new Error(`${spec}: unclosed "[" in the pattern`);
        re += `[${part
          .slice(i + 1, close)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = close;
      } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    if (!last) re += "/";
  });
  return { base, pattern: new RegExp(`^${re}$`) };
}

/** Every non-hidden regular file under `dir`, sorted by path. */
async function walk(dir: string, spec: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && d === dir) return; // a pattern under a missing folder matches nothing
      throw new Error(`${spec}: cannot list ${d} (${code ?? (err as Error).message})`);
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() || (e.isSymbolicLink() && (await stat(p).catch(() => null))?.isFile())) out.push(p);
    }
  };
  await visit(dir);
  return out.sort();
}
