/** What the studio's tests share: a tiny corpus and run made by the real `mlm train`, and a picture of a folder's files. */
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const MLM = join(ROOT, "bin", "mlm.js");

/**
 * Flags of a run that trains in about a second on the plain TypeScript kernels: a 1-layer model of
 * width 16 on a 300-token vocabulary, every sentence of the corpus, losses logged every 5 steps.
 */
export const TINY_FLAGS = [
  "--sample",
  "1",
  "--vocab-size",
  "300",
  "--d-model",
  "16",
  "--num-layers",
  "1",
  "--num-heads",
  "2",
  "--d-ff",
  "32",
  "--batch-size",
  "16",
  "--backend",
  "ts",
  "--log-steps",
  "5",
];

/** The first 400 sentences of the bundled corpus, written to `path`. */
export function writeTinyCorpus(path: string): void {
  writeFileSync(
    path,
    readFileSync(join(ROOT, "data", "tatoeba-en.txt"), "utf8")
      .split("\n")
      .slice(0, 400)
      .join("\n") + "\n",
  );
}

/** `mlm ARGS` run to its end; returns stdout (throws with stderr on a non-zero exit). */
export function mlm(args: string[]): string {
  return execFileSync(process.execPath, [MLM, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Every entry under `dir` with its kind, size, modification time and link target: equal pictures, unchanged disk. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const s = lstatSync(path);
      if (s.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(path)}`);
      else if (s.isDirectory()) {
        out.push(`${path}/ ${s.mtimeMs}`);
        walk(path);
      } else out.push(`${path} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}
