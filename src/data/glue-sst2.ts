/**
 * GLUE's SST-2 (the tutorial's fine-tuning data set): the Stanford Sentiment Treebank's sentences
 * labelled 0 (negative) or 1 (positive), 67,349 for training and 872 for validation, as GLUE publishes
 * them in one zip. `downloadSst2` fetches the zip (download.ts: atomic, web pages refused), checks it
 * is that zip byte for byte (size and SHA-256, as recorded by Hugging Face `datasets` and TensorFlow
 * Datasets), and keeps its two labelled files:
 *
 *   DIR/SST-2/train.tsv   sentence <TAB> label, a header row   (mlm finetune DATA)
 *   DIR/SST-2/dev.tsv     the same columns                    (--valid FILE)
 *
 * The test split has no labels and is left out. The zip is read in memory by npm `fflate`; it is
 * downloaded to a temporary name and removed afterwards, so only the two files are left, each written
 * atomically, and only after both were read and checked.
 *
 * @example
 *   const { files } = await downloadSst2("data");
 *   // files: [{ path: "data/SST-2/train.tsv", bytes: 3..., rows: 67349 }, { path: "data/SST-2/dev.tsv", ... }]
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { tempPathFor, writeFileAtomic } from "../util/atomic-write.js";
import { downloadFile } from "./download.js";

/** GLUE's official SST-2 zip. */
export const SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip";

/** The official zip's size and SHA-256. */
export const SST2_ZIP = {
  bytes: 7_439_277,
  sha256: "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
} as const;

/** Where the data set comes from, for the log. */
export const SST2_ATTRIBUTION =
  "SST-2: the Stanford Sentiment Treebank (Socher et al., 2013) as published by GLUE (gluebenchmark.com)";

/** The files kept, inside the zip's SST-2/ folder and in DIR/SST-2/. */
export const SST2_FILES = ["train.tsv", "dev.tsv"] as const;

/** Their header row. */
const HEADER = "sentence\tlabel";

export interface Sst2Options {
  /** Where the zip comes from (default `SST2_URL`). */
  url?: string;
  /** The zip's SHA-256 and size (default `SST2_ZIP`; a zip of another hash is refused). */
  expect?: { sha256: string; bytes?: number };
  /** Print nothing (no progress bar). */
  silent?: boolean;
}

export interface Sst2Result {
  /** The files written, with their size and their labelled rows (the header not counted). */
  files: { path: string; bytes: number; rows: number }[];
  /** The zip's size and SHA-256, as checked. */
  zip: { url: string; bytes: number; sha256: string };
}

/** The paths `downloadSst2(dir)` writes. */
export function sst2Paths(dir: string): string[] {
  return SST2_FILES.map((name) => join(dir, "SST-2", name));
}

/** Downloads and checks GLUE's SST-2 zip, and writes its train.tsv and dev.tsv under `dir`/SST-2/; see the module comment. */
export async function downloadSst2(dir: string, options: Sst2Options = {}): Promise<Sst2Result> {
  const url = options.url ?? SST2_URL;
  const zipPath = tempPathFor(join(dir, "SST-2.zip"));
  try {
    const got = await downloadFile(url, zipPath, { silent: options.silent, expect: options.expect ?? SST2_ZIP });
    const contents = extract(await readFile(zipPath), got.finalUrl);
    const paths = sst2Paths(dir);
    for (let i = 0; i < paths.length; i++) await writeFileAtomic(paths[i], contents[i].data);
    return {
      files: paths.map((path, i) => ({ path, bytes: contents[i].data.length, rows: contents[i].rows })),
      zip: { url: got.finalUrl, bytes: got.bytes, sha256: got.sha256 },
    };
  } finally {
    await rm(zipPath, { force: true });
  }
}

/** The zip's SST-2/train.tsv and SST-2/dev.tsv, each checked for its header and rows. */
function extract(zip: Uint8Array, source: string): { data: Uint8Array; rows: number }[] {
  const wanted = new Set(SST2_FILES.map((name) => `SST-2/${name}`));
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (file) => wanted.has(file.name) });
  } catch (err) {
    throw new Error(`${source}: not a readable zip (${(err as Error).message})`);
  }
  return SST2_FILES.map((name) => {
    const data = files[`SST-2/${name}`];
    if (data === undefined) throw new Error(`${source}: the zip has no SST-2/${name}`);
    const text = new TextDecoder().decode(data);
    const lines = text.split("\n").filter((line) => line !== "");
    const header = lines[0]?.replace(/\r$/, "") ?? "";
    if (header !== HEADER)
      throw new Error(
        `${source}: SST-2/${name} starts with "${header.slice(0, 60)}", expected the columns sentence and label`,
      );
    return { data, rows: lines.length - 1 };
  });
}
