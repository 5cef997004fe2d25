/**
 * `mlm runs`: what past runs reached, without starting TensorBoard.
 *
 *   mlm runs                 every run under runs/: steps, best validation loss, last training loss
 *   mlm runs RUN_DIR         one run: every logged training loss and every evaluation, by step
 *   --json                   the same as JSON
 */
import { parseFlags, type FieldTable } from "../config/index.js";
import { commandHelp, UsageError } from "./flags.js";
import { inspectRun, isRunDirectory, listRuns, type RunCurves, type RunSummary } from "../run/index.js";
import { formatSeconds } from "../util/progress.js";
import { textPlot } from "../track/text-plot.js";

const RUNS_FLAGS = {
  json: { kind: "boolean", default: false, help: "print the same as JSON" },
} as const satisfies FieldTable;

const HELP = commandHelp(
  `Usage: mlm runs [DIR] [--json]

Without DIR, lists the runs under runs/ (or under DIR when it holds run directories).
With a run directory, prints every logged training loss and every evaluation (validation loss,
perplexity, top-1 and top-5 accuracy), one row per step.`,
  RUNS_FLAGS,
);

const fixed = (x: number | null, digits = 4): string => (x === null ? "-" : x.toFixed(digits));
const pct = (x: number | null): string => (x === null ? "-" : (100 * x).toFixed(1) + "%");

/** `mlm runs [DIR] [--json]`; `write` receives the output (stdout by default). Returns the exit code. */
export async function runsCommand(
  argv: string[],
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const parsed = parseFlags(RUNS_FLAGS, argv, { positionals: true, command: "mlm runs" });
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1)
    throw new UsageError(`expected at most one directory, got ${positionals.length} (see mlm runs --help)`);
  const dir = positionals[0] ?? "runs";
  if (await isRunDirectory(dir)) {
    const run = await inspectRun(dir);
    write(values.json ? JSON.stringify(run) + "\n" : formatRun(run) + curvesPlot(run));
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
    `${"run".padEnd(28)} ${"steps".padStart(7)} ${"best valid".padStart(10)} ${"at step".padStart(8)} ` +
      `${"last train".padStart(10)} ${"time".padStart(8)} ${"status".padEnd(11)} data\n`,
  );
  for (const r of runs) {
    if ("error" in r) {
      write(`${r.name.padEnd(28)} unreadable: ${r.error}\n`);
      continue;
    }
    if (!r.hasMetrics && r.lastStep === 0) {
      write(`${r.name.padEnd(28)} ${"-".padStart(7)}  no metrics.jsonl yet (no step logged)  ${r.data ?? "bundled"}\n`);
      continue;
    }
    write(
      `${r.name.padEnd(28)} ${String(r.lastStep).padStart(7)} ${fixed(r.bestValidLoss).padStart(10)} ` +
        `${String(r.bestStep ?? "-").padStart(8)} ${fixed(r.lastTrainLoss).padStart(10)} ` +
        `${formatSeconds(r.seconds).padStart(8)} ${(r.status?.state ?? "-").padEnd(11)} ${r.data ?? "bundled"}\n`,
    );
  }
  return 0;
}

/** ", finished" or ", failed: <message>" after a run's figures; nothing for runs without a status.json. */
function statusNote(run: RunSummary): string {
  if (run.status === null) return "";
  return `, ${run.status.state}${run.status.message === undefined ? "" : `: ${run.status.message}`}`;
}

/**
 * One run as text: a summary line, then one row per step that logged something, with the mean
 * training loss logged there and the evaluation's figures (blank where the step has none).
 */
export function formatRun(run: RunSummary & RunCurves): string {
  if (!run.hasMetrics && run.lastStep === 0) return `${run.dir}: no metrics.jsonl yet (no step logged)\n`;
  const lines = [
    `${run.dir}: ${run.lastStep} steps, best validation loss ${fixed(run.bestValidLoss)} at step ${run.bestStep ?? "-"}${statusNote(run)}`,
    `${"step".padStart(8)} ${"train loss".padStart(10)} ${"valid loss".padStart(10)} ${"ppl".padStart(9)} ${"acc".padStart(6)} ${"top5".padStart(6)}`,
  ];
  const trainAt = new Map(run.train.map((t) => [t.step, t.loss]));
  const validAt = new Map(run.valid.map((v) => [v.step, v]));
  const steps = [...new Set([...trainAt.keys(), ...validAt.keys()])].sort((a, b) => a - b);
  for (const step of steps) {
    const train = trainAt.get(step);
    const v = validAt.get(step);
    const evaluation =
      v === undefined
        ? ""
        : ` ${fixed(v.loss).padStart(10)} ${fixed(v.perplexity, 1).padStart(9)} ${pct(v.accuracy).padStart(6)} ${pct(v.top5).padStart(6)}`;
    lines.push(`${String(step).padStart(8)} ${(train === undefined ? "" : fixed(train)).padStart(10)}${evaluation}`);
  }
  return lines.join("\n") + "\n";
}

/** The training (*) and validation (o) losses as a text chart, after the table; nothing for fewer than 2 points. */
export function curvesPlot(run: RunCurves): string {
  if (run.train.length + run.valid.length < 2) return "";
  const plot = textPlot([
    { name: "train loss", mark: "*", points: run.train.map((t) => [t.step, t.loss]) },
    { name: "valid loss", mark: "o", points: run.valid.map((v) => [v.step, v.loss]) },
  ]);
  return "\n" + plot;
}
