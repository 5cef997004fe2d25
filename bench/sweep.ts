/**
 * `npm run sweep -- GRID.json [--out DIR] [--parallel N]`: trains every setting of a grid with the CLI
 * (`mlm train --config`, one child process each) and writes a table of what each reached.
 *
 * GRID.json: `{ "common": { ...settings }, "runs": { "name": { ...settings }, ... } }`, settings as in
 * a `--config` file (camelCase keys; a recipe by name, a timeBudget or maxSteps). Each run gets common
 * then its own settings, in DIR/NAME (default sweeps/<grid name>/). The table (DIR/results.md and one
 * JSON line per run in DIR/results.jsonl, also printed) has the settings, steps, tokens seen, the last
 * evaluation's validation loss, masked accuracy and top-5, and the wall time from start to exit.
 * `--parallel N` runs N at once, each on its own kernel thread (compare steps, not wall times, then).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

interface Grid {
  common?: Record<string, unknown>;
  runs: Record<string, Record<string, unknown>>;
}

interface Result {
  name: string;
  settings: Record<string, unknown>;
  exitCode: number;
  steps: number;
  tokensSeen: number;
  validLoss: number;
  accuracy: number;
  top5: number;
  wallSeconds: number;
}

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Reads and checks the grid file; throws naming the file and what is wrong. */
function readGrid(path: string): Grid {
  let grid: unknown;
  try {
    grid = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const g = grid as Partial<Grid>;
  if (typeof g !== "object" || g === null || typeof g.runs !== "object" || g.runs === null)
    throw new Error(`${path}: expected { "common": {...}, "runs": { "name": {...} } }`);
  return { common: g.common ?? {}, runs: g.runs };
}

/** Trains one setting and reads what it reached from its run directory. */
async function runOne(name: string, settings: Record<string, unknown>, dir: string): Promise<Result> {
  const runDir = join(dir, name);
  const configFile = join(dir, `${name}.json`);
  writeFileSync(configFile, JSON.stringify(settings, null, 2) + "\n");
  const t0 = Date.now();
  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [CLI, "train", "--config", configFile, "--out-dir", runDir, "--no-progress"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let tail = "";
    child.stderr.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
    child.on("close", (code) => {
      if (code !== 0) process.stderr.write(`sweep: ${name} exited with ${code}:\n${tail}\n`);
      resolve(code ?? 1);
    });
  });
  const wallSeconds = (Date.now() - t0) / 1000;
  const lines = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n");
  const valid = lines.map((l) => JSON.parse(l) as Record<string, number | string>).filter((m) => m.split === "valid");
  const last = valid.at(-1);
  const state = JSON.parse(readFileSync(join(runDir, "best", "train_state.json"), "utf8")) as { tokensSeen: number };
  return {
    name,
    settings,
    exitCode,
    steps: Number(last?.step ?? 0),
    tokensSeen: state.tokensSeen,
    validLoss: Number(last?.loss ?? Number.NaN),
    accuracy: Number(last?.accuracy ?? Number.NaN),
    top5: Number(last?.top5 ?? Number.NaN),
    wallSeconds,
  };
}

/** The results as a Markdown table. */
function table(results: Result[], common: Record<string, unknown>): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const rows = results.map((r) =>
    [
      r.name,
      Object.entries(r.settings)
        .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(common[k]))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(" "),
      r.steps,
      `${(r.tokensSeen / 1e6).toFixed(2)}M`,
      r.validLoss.toFixed(3),
      pct(r.accuracy),
      pct(r.top5),
      `${(r.wallSeconds / 60).toFixed(1)} min`,
    ].join(" | "),
  );
  return [
    `Common: ${JSON.stringify(common)}`,
    "",
    "| run | settings | steps | tokens seen | valid loss | masked acc | top-5 | wall |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: "string" }, parallel: { type: "string", default: "1" } },
  });
  if (positionals.length !== 1) throw new Error("usage: npm run sweep -- GRID.json [--out DIR] [--parallel N]");
  const gridPath = positionals[0];
  const grid = readGrid(gridPath);
  const common = grid.common ?? {};
  const dir = values.out ?? join("sweeps", basename(gridPath, ".json"));
  const parallel = Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new Error(`--parallel: expected an integer >= 1, got ${values.parallel}`);
  mkdirSync(dir, { recursive: true });
  const names = Object.keys(grid.runs);
  const results: Result[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++];
      const settings = { ...common, ...grid.runs[name], ...(parallel > 1 ? { threads: 1 } : {}) };
      const result = await runOne(name, settings, dir);
      results.push(result);
      writeFileSync(join(dir, "results.jsonl"), results.map((r) => JSON.stringify(r)).join("\n") + "\n");
      process.stderr.write(`sweep: ${name}: ${result.steps} steps, acc ${result.accuracy}, top-5 ${result.top5}\n`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  results.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  const text = table(results, common);
  writeFileSync(join(dir, "results.md"), text);
  process.stdout.write(text);
}

main().catch((err: unknown) => {
  process.stderr.write(`sweep: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
