/**
 * Cold start of the `mlm` command: wall time from spawning `node bin/mlm.js ...` to its exit, the
 * median of a few runs, each a fresh process.
 *
 *   train:     mlm train --max-steps 1 (the default recipe on the bundled corpus: read, tokenizer
 *              and tokenized splits from the cache a first untimed run filled, model, kernels,
 *              the evaluation at start, one step, the final evaluation and checkpoint)
 *   fill:      mlm fill "the [MASK] is red." --model RUN (its default, TypeScript kernels)
 *   fillWasm:  the same with --backend wasm (the kernel module compiled and its threads started)
 *
 *   node dist/bench/cold-start.js [--repeats 3] [--mlm path/to/bin/mlm.js]
 *
 * `--mlm` times another checkout's command (another commit, built), for before/after figures.
 * Prints one JSON line with milliseconds on stdout: wall time, and on Linux also the CPU time the
 * child used (user + system, from /proc/self/stat's children counters, 10 ms resolution), which
 * moves less than wall time when other processes share the cores.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** Options of `runColdStartBench`. */
export interface ColdStartOptions {
  /** Timed runs of each command (default 3). */
  repeats?: number;
  /** The command's script (default: this checkout's bin/mlm.js). */
  mlm?: string;
}

/** Median milliseconds of each cold start: wall time, and CPU time (NaN where not measurable). */
export interface ColdStartResult {
  trainMaxSteps1Ms: number;
  fillMs: number;
  fillWasmMs: number;
  trainMaxSteps1CpuMs: number;
  fillCpuMs: number;
  fillWasmCpuMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU milliseconds of this process's waited-for children so far (Linux), else NaN. */
function childrenCpuMs(): number {
  if (!existsSync("/proc/self/stat")) return NaN;
  // fields after the command name in parentheses; cutime and cstime are fields 16 and 17, in 1/100 s
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall and CPU milliseconds that `node MLM ARGS` takes, start to exit. */
function timeCommand(mlm: string, args: string[]): { wall: number; cpu: number } {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  execFileSync(process.execPath, [mlm, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return { wall: performance.now() - t0, cpu: childrenCpuMs() - cpu0 };
}

/**
 * Times the cold starts (a scratch folder for the runs and the cache, removed afterwards).
 *
 * @example
 *   const { trainMaxSteps1Ms } = runColdStartBench({ repeats: 3 });
 */
export function runColdStartBench(opts: ColdStartOptions = {}): ColdStartResult {
  const repeats = opts.repeats ?? 3;
  const mlm = opts.mlm ?? fileURLToPath(new URL("../../bin/mlm.js", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "mlm-cold-start-"));
  try {
    const trainArgs = (out: string): string[] => [
      ...["train", "--max-steps", "1", "--no-progress", "--threads", "2"],
      ...["--out-dir", join(dir, out), "--cache-dir", join(dir, "cache")],
    ];
    timeCommand(mlm, trainArgs("warm-up")); // fills the cache: tokenizer and tokenized splits
    const train: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < repeats; i++) train.push(timeCommand(mlm, trainArgs(`run-${i}`)));
    const fillArgs = ["fill", "the [MASK] is red.", "--model", join(dir, "warm-up")];
    const fill: { wall: number; cpu: number }[] = [];
    const fillWasm: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < repeats; i++) {
      fill.push(timeCommand(mlm, fillArgs));
      fillWasm.push(timeCommand(mlm, [...fillArgs, "--backend", "wasm", "--threads", "2"]));
    }
    const wall = (xs: { wall: number }[]): number => median(xs.map((x) => x.wall));
    const cpu = (xs: { cpu: number }[]): number => median(xs.map((x) => x.cpu));
    return {
      trainMaxSteps1Ms: wall(train),
      fillMs: wall(fill),
      fillWasmMs: wall(fillWasm),
      trainMaxSteps1CpuMs: cpu(train),
      fillCpuMs: cpu(fill),
      fillWasmCpuMs: cpu(fillWasm),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { repeats: { type: "string" }, mlm: { type: "string" } } });
  const result = runColdStartBench({
    repeats: values.repeats === undefined ? undefined : Number(values.repeats),
    mlm: values.mlm,
  });
  process.stdout.write(JSON.stringify(result) + "\n");
}
