/**
 * `mlm runs`: what past runs reached, without starting TensorBoard.
 *
 *   mlm runs                 every run under runs/: steps, best validation loss, last training loss
 *   mlm runs RUN_DIR         one run's validation curve (and training loss at each log step)
 *   --json                   the same as JSON
 */
import { parseCommandArgs, UsageError } from "./flags.js";
import { inspectRun, isRunDirectory, listRuns } from "../run/index.js";
import { formatSeconds } from "../util/progress.js";

const HELP = `Usage: mlm runs [DIR] [--json]

Without DIR, lists the runs under runs/ (or under DIR when it holds run directories).
With a run directory, prints its validation curve and training losses.
`;

const fixed = (x: number | null, digits = 4): string => (x === null ? "-" : x.toFixed(digits));

/** `mlm runs [DIR] [--json]`; `write` receives the output (stdout by default). Returns the exit code. */
export async function runsCommand(
  argv: string[],
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const { values, positionals } = parseCommandArgs("runs", {
    args: argv,
    options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    write(HELP);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`expected at most one directory, got ${positionals.length} (see mlm runs --help)`);
  const dir = positionals[0] ?? "runs";
  if (await isRunDirectory(dir)) {
    const run = await inspectRun(dir);
    if (values.json) {
      write(JSON.stringify(run) + "\n");
      return 0;
    }
    const summary = run;
    const curves = run;
    write(
      `${summary.dir}: ${summary.lastStep} steps, best validation loss ${fixed(summary.bestValidLoss)} at step ${summary.bestStep ?? "-"}${summary.status === null ? "" : `, ${summary.status.state}`}${summary.status?.message === undefined ? "" : `: ${summary.status.message}`}\n`,
    );
    write(
      `${"step".padStart(8)} ${"valid loss".padStart(10)} ${"ppl".padStart(9)} ${"acc".padStart(6)} ${"top5".padStart(6)} ${"train loss".padStart(10)}\n`,
    );
    const trainAt = new Map(curves.train.map((t) => [t.step, t.loss]));
    for (const v of curves.valid) {
      const pct = (x: number | null): string => (x === null ? "-" : (100 * x).toFixed(1) + "%");
      write(
        `${String(v.step).padStart(8)} ${fixed(v.loss).padStart(10)} ${fixed(v.perplexity, 1).padStart(9)} ${pct(v.accuracy).padStart(6)} ${pct(v.top5).padStart(6)} ${fixed(trainAt.get(v.step) ?? null).padStart(10)}\n`,
      );
    }
    return 0;
  }
  const runs = await listRuns(dir);
  if (values.json) {
    write(JSON.stringify(runs) + "\n");
    return 0;
  }
  if (runs.length === 0) {
    write(`no runs under ${dir}\n`);
    return 0;
  }
  write(
    `${"run".padEnd(28)} ${"steps".padStart(7)} ${"best valid".padStart(10)} ${"at step".padStart(8)} ${"last train".padStart(10)} ${"time".padStart(8)} ${"status".padEnd(11)} data\n`,
  );
  for (const r of runs) {
    if ("error" in r) {
      write(`${r.name.padEnd(28)} unreadable: ${r.error}\n`);
      continue;
    }
    write(
      `${r.name.padEnd(28)} ${String(r.lastStep).padStart(7)} ${fixed(r.bestValidLoss).padStart(10)} ${String(r.bestStep ?? "-").padStart(8)} ${fixed(r.lastTrainLoss).padStart(10)} ${formatSeconds(r.seconds).padStart(8)} ${(r.status?.state ?? "-").padEnd(11)} ${r.data ?? "bundled"}\n`,
    );
  }
  return 0;
}
