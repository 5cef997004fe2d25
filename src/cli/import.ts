/**
 * `mlm import`: a model trained in PyTorch (a folder of `mlm_torch.py train`) back as an mlm-ts run.
 *
 *   mlm import trained --out runs/from-torch
 */
import { parseFlags, type FieldTable } from "../config/index.js";
import { importPytorch } from "../interop/index.js";
import { commandHelp, UsageError } from "./flags.js";
import { asUsageError, realPath } from "./output-path.js";

const IMPORT_FLAGS = {
  out: {
    kind: "path",
    short: "o",
    default: null,
    required: true,
    placeholder: "RUN_DIR",
    help: "run directory to write",
  },
  force: { kind: "boolean", default: false, help: "write into an existing RUN_DIR, replacing the run in it" },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm import DIR --out RUN_DIR

Makes an mlm-ts run of a folder written by mlm_torch.py train (or mlm export --format pytorch): its
weights in best/ and, with Adam's moments and step, in last-<step>/, so that mlm fill, mlm eval and
mlm train --resume RUN_DIR take it. Every file is checked before anything is written.`,
  IMPORT_FLAGS,
);

/** Runs `mlm import`; `write` receives the output (stdout by default). */
export async function importCommand(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const parsed = parseFlags(IMPORT_FLAGS, argv, { positionals: true, command: "mlm import" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError(`expected one DIR argument, got ${positionals.length} (see mlm import --help)`);
  // Real paths: a symbolic link cannot hide that RUN_DIR is, holds or lies inside DIR.
  const r = await asUsageError(importPytorch(realPath(positionals[0]), realPath(values.out), { force: values.force }));
  const loss = r.validLoss === null ? "" : `, validation loss ${r.validLoss.toFixed(6)} (PyTorch's)`;
  write(
    `imported step ${r.step}${loss} into ${r.runDir}: ${r.checkpoints.map((c) => c.slice(r.runDir.length + 1)).join(", ")}\n`,
  );
  return 0;
}
