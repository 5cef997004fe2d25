/**
 * Where the project's own files are, found from this module's location so that it works both from the
 * TypeScript sources (src/data/) and from the compiled output (dist/src/data/).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The sentences bundled with the project: real Tatoeba English sentences, one per line. */
export const TATOEBA_ATTRIBUTION = "Tatoeba (tatoeba.org), CC BY 2.0 FR";

let cachedRoot: string | null = null;

/**
 * The absolute path of the project root: the nearest folder above this module whose package.json is
 * mlm-ts's (a package.json of another package, e.g. a dist/ one, is skipped).
 */
export function projectRoot(): string {
  if (cachedRoot !== null) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && isOurPackage(pkg)) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the mlm-ts package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function isOurPackage(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { name?: unknown }).name === "mlm-ts";
  } catch {
    return false;
  }
}

/**
 * Absolute path of the bundled English corpus, data/tatoeba-en.txt (65,241 unique Tatoeba sentences,
 * attribution in `TATOEBA_ATTRIBUTION`).
 *
 * @example
 *   const { sentences } = await readCorpus(bundledCorpusPath());
 */
export function bundledCorpusPath(): string {
  return join(projectRoot(), "data", "tatoeba-en.txt");
}

/** Absolute path of the bundled sample of the tutorial's TSV: 1,000 Italian-English pairs, data/it-en.sample.tsv. */
export function bundledPairsPath(): string {
  return join(projectRoot(), "data", "it-en.sample.tsv");
}

/**
 * What to say when a corpus file is missing: the bundled corpora (as paths that work from the
 * current folder) and `mlm download`, which saves the tutorial's whole TSV as data/it-en.tsv.
 *
 * @example
 *   throw new Error(`data/it-en.tsv: file not found (${missingCorpusHint()})`);
 */
export function missingCorpusHint(): string {
  const shown = (path: string): string => {
    const rel = relative(process.cwd(), path);
    return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  };
  return `bundled: ${shown(bundledCorpusPath())} and ${shown(bundledPairsPath())}; \`mlm download\` fetches the tutorial's whole TSV as data/it-en.tsv`;
}
