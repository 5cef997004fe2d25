/**
 * `mlm download`: fetches the tutorial's Tatoeba Italian-English TSV (or any URL) to a local file;
 * `mlm download sst2`: GLUE's SST-2, the tutorial's fine-tuning data (data/glue-sst2.ts).
 */
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseFlags, UsageError, type FieldTable } from "../config/index.js";
import { commandHelp } from "./flags.js";
import { DEFAULT_DATASET_URL, downloadFile, formatBytes } from "../data/download.js";
import { downloadSst2, sst2Paths, SST2_ATTRIBUTION, SST2_URL, SST2_ZIP } from "../data/glue-sst2.js";
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

const SST2_FLAGS = {
  url: { kind: "string", default: SST2_URL, placeholder: "URL", help: "where GLUE's SST-2.zip comes from" },
  sha256: {
    kind: "string",
    default: SST2_ZIP.sha256,
    placeholder: "HEX",
    help: "the zip's SHA-256 (GLUE's zip is also checked by its size); another zip is refused",
  },
  outDir: {
    kind: "path",
    default: "data",
    placeholder: "DIR",
    help: "where to save SST-2/train.tsv and SST-2/dev.tsv, relative to the current folder",
  },
  force: { kind: "boolean", default: false, help: "download again when the files already exist" },
  quiet: { kind: "boolean", default: false, help: "no progress bar, no messages" },
} as const satisfies FieldTable;

const USAGE = `${commandHelp(
  `Usage: mlm download [--url URL] [--out FILE] [--force] [--quiet]
       mlm download sst2 [--out-dir DIR] [--url URL] [--sha256 HEX] [--force] [--quiet]

Downloads the tutorial's Tatoeba Italian-English pairs (a 4-column TSV: id_it, sent_it, id_en, sent_en).
Then train on its English sentences with: mlm train data/it-en.tsv

mlm download sst2 (mlm download sst2 --help for its options) downloads GLUE's SST-2, the tutorial's
fine-tuning data, as data/SST-2/train.tsv and data/SST-2/dev.tsv.`,
  DOWNLOAD_FLAGS,
)}
Data: ${TATOEBA_ATTRIBUTION}
`;

const SST2_USAGE = `${commandHelp(
  `Usage: mlm download sst2 [--out-dir DIR] [--url URL] [--sha256 HEX] [--force] [--quiet]

Downloads GLUE's SST-2 zip, checks its size and SHA-256, and saves its labelled files (columns
sentence and label): DIR/SST-2/train.tsv (67,349 sentences) and DIR/SST-2/dev.tsv (872).
Then fine-tune with: mlm finetune data/SST-2/train.tsv --valid data/SST-2/dev.tsv --from RUN`,
  SST2_FLAGS,
)}
Data: ${SST2_ATTRIBUTION}
`;

/** The data sets `mlm download NAME` knows (no name: the tutorial's Tatoeba TSV). */
const DATASETS: Record<string, (argv: string[]) => Promise<number>> = { sst2: sst2Command };

/**
 * Runs `mlm download`; returns the exit code (0 ok, 1 failed download, 2 bad arguments).
 *
 * @example
 *   await downloadCommand(["--out", "data/it-en.tsv"]);
 */
export async function downloadCommand(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name !== undefined && !name.startsWith("-")) {
    const command = DATASETS[name];
    if (command !== undefined) return command(argv.slice(1));
    process.stderr.write(
      `mlm download: unknown data set "${name}"; known: ${Object.keys(DATASETS).join(", ")} ` +
        `(or no name: the tutorial's Tatoeba TSV)\n`,
    );
    return 2;
  }
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

/** `mlm download sst2`; returns the exit code (0 ok, 1 failed download, 2 bad arguments). */
async function sst2Command(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(SST2_FLAGS, argv, { command: "mlm download sst2" });
    if (!parsed.help && !/^[0-9a-f]{64}$/.test(parsed.values.sha256))
      throw new UsageError(`--sha256 expects 64 lowercase hexadecimal digits, got "${parsed.values.sha256}"`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`mlm download sst2: ${err.message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(SST2_USAGE);
    return 0;
  }
  const { values } = parsed;
  const say = (line: string): void => {
    if (!values.quiet) process.stderr.write(line + "\n");
  };
  const shown = (path: string): string => relative(process.cwd(), path) || path;
  const existing = sst2Paths(resolve(values.outDir)).filter((path) => existsSync(path));
  if (existing.length > 0 && !values.force) {
    say(
      `${existing.map(shown).join(" and ")} already exist${existing.length === 1 ? "s" : ""}; use --force to download again`,
    );
    return 0;
  }
  // GLUE's size goes with GLUE's hash; a zip named by another hash is checked by that hash alone.
  const expect = values.sha256 === SST2_ZIP.sha256 ? SST2_ZIP : { sha256: values.sha256 };
  say(`downloading ${values.url}`);
  try {
    const { files, zip } = await downloadSst2(resolve(values.outDir), {
      url: values.url,
      expect,
      silent: values.quiet,
    });
    say(`checked ${formatBytes(zip.bytes)}, SHA-256 ${zip.sha256}`);
    for (const f of files) say(`saved ${f.rows} labelled sentences (${formatBytes(f.bytes)}) to ${shown(f.path)}`);
    const [train, dev] = files.map((f) => shown(f.path));
    say(`fine-tune with: mlm finetune ${train} --valid ${dev} --from RUN`);
    say(`data: ${SST2_ATTRIBUTION}`);
    return 0;
  } catch (err) {
    process.stderr.write(`mlm download sst2: ${(err as Error).message}\n`);
    return 1;
  }
}
