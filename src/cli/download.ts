/**
 * `mlm download`: fetches the tutorial's Tatoeba Italian-English TSV (or any URL) to a local file.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseFlags, UsageError, type FieldTable } from "../config/index.js";
import { commandHelp } from "./flags.js";
import { DEFAULT_DATASET_URL, downloadFile, formatBytes } from "../data/download.js";
import { TATOEBA_ATTRIBUTION } from "../data/paths.js";

const DOWNLOAD_FLAGS = {
  url: { kind: "string", default: DEFAULT_DATASET_URL, placeholder: "URL", help: "what to download" },
  out: {
    kind: "path",
    default: "data/it-en.tsv",
    placeholder: "FILE",
    help: "where to save it, relative to the current folder",
  },
  force: { kind: "boolean", default: false, help: "download again when FILE already exists" },
  quiet: { kind: "boolean", default: false, help: "no progress bar, no messages" },
} as const satisfies FieldTable;

const USAGE = `${commandHelp(
  `Usage: mlm download [--url URL] [--out FILE] [--force] [--quiet]

Downloads the tutorial's Tatoeba Italian-English pairs (a 4-column TSV: id_it, sent_it, id_en, sent_en).
Then train on its English sentences with: mlm train data/it-en.tsv`,
  DOWNLOAD_FLAGS,
)}
Data: ${TATOEBA_ATTRIBUTION}
`;

/**
 * Runs `mlm download`; returns the exit code (0 ok, 1 failed download, 2 bad arguments).
 *
 * @example
 *   await downloadCommand(["--out", "data/it-en.tsv"]);
 */
export async function downloadCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(DOWNLOAD_FLAGS, argv, { command: "mlm download" });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`mlm download: ${err.message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { values } = parsed;
  const url = values.url;
  const out = resolve(values.out);
  const say = (line: string): void => {
    if (!values.quiet) process.stderr.write(line + "\n");
  };
  if (existsSync(out) && !values.force) {
    say(`${out} already exists; use --force to download it again`);
    return 0;
  }
  say(`downloading ${url}`);
  try {
    const columns = out.toLowerCase().endsWith(".tsv") ? 4 : undefined;
    const { bytes } = await downloadFile(url, out, { silent: values.quiet, columns });
    say(`saved ${formatBytes(bytes)} to ${out}`);
    if (url === DEFAULT_DATASET_URL) say(`data: ${TATOEBA_ATTRIBUTION}`);
    return 0;
  } catch (err) {
    process.stderr.write(`mlm download: ${(err as Error).message}\n`);
    return 1;
  }
}
