/**
 * `mlm download`: fetches the tutorial's Tatoeba Italian-English TSV (or any URL) to a local file.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_DATASET_URL, downloadFile, formatBytes } from "../data/download.js";
import { TATOEBA_ATTRIBUTION } from "../data/paths.js";

const USAGE = `Usage: mlm download [--url URL] [--out FILE] [--force] [--quiet]

Downloads the tutorial's Tatoeba Italian-English pairs (a 4-column TSV: id_it, sent_it, id_en, sent_en).
Then train on its English sentences with: mlm train data/it-en.tsv

Options:
  --url URL     what to download (default ${DEFAULT_DATASET_URL})
  --out FILE    where to save it, relative to the current folder (default data/it-en.tsv); a .tsv
                must have 4 tab-separated columns, and a web page (HTML) is never saved
  --force       download again when FILE already exists
  --quiet       no progress bar, no messages
  -h, --help    show this help

Data: ${TATOEBA_ATTRIBUTION}
`;

/**
 * Runs `mlm download`; returns the exit code (0 ok, 1 failed download, 2 bad arguments).
 *
 * @example
 *   await downloadCommand(["--out", "data/it-en.tsv"]);
 */
export async function downloadCommand(argv: string[]): Promise<number> {
  let values: { url?: string; out?: string; force?: boolean; quiet?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        out: { type: "string" },
        force: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    process.stderr.write(`mlm download: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const url = values.url ?? DEFAULT_DATASET_URL;
  const out = resolve(values.out ?? "data/it-en.tsv");
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
