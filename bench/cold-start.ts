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
 * Prints one JSON line with milliseconds on stdout.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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

/** Median milliseconds of each cold start. */
export interface ColdStartResult {
  trainMaxSteps1Ms: number;
  fillMs: number;
  fillWasmMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds that `node MLM ARGS` takes, start to exit. */
function timeCommand(mlm: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, [mlm, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return performance.now() - t0;
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
    const train: number[] = [];
    for (let i = 0; i < repeats; i++) train.push(timeCommand(mlm, trainArgs(`run-${i}`)));
    const fillArgs = ["fill", "the [MASK] is red.", "--model", join(dir, "warm-up")];
    const fill: number[] = [];
    const fillWasm: number[] = [];
    for (let i = 0; i < repeats; i++) {
      fill.push(timeCommand(mlm, fillArgs));
      fillWasm.push(timeCommand(mlm, [...fillArgs, "--backend", "wasm", "--threads", "2"]));
    }
    return { trainMaxSteps1Ms: median(train), fillMs: median(fill), fillWasmMs: median(fillWasm) };
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
