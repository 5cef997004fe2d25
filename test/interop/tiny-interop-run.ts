/**
 * What the interop tests share: a tiny trained run (the pipeline tests' 50 sentences, a 2-layer model,
 * 40 steps on the "ts" backend, about a second) in a temporary folder, and Debian's Python, which must
 * have numpy, torch and onnx: a missing one fails the test with the package to install, never skips it.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { train } from "../../src/train/trainer.js";
import { tinyRunConfig, tinySentences } from "../pipelines/tiny-run.js";
import { tempDir } from "../temp-dir.js";

/** Debian's interpreter (python3-torch, python3-onnx), not a pyenv shim earlier on the PATH. */
export const PYTHON = "/usr/bin/python3";

/** The Python modules the tests use, and the Debian package of each. */
const PACKAGES = { numpy: "python3-numpy", torch: "python3-torch", onnx: "python3-onnx" } as const;

/**
 * Runs `/usr/bin/python3 ARGS` and returns its stdout; a failure throws with its stderr. First checks
 * that `modules` import, naming the Debian package of a missing one.
 */
export function python(args: string[], modules: readonly (keyof typeof PACKAGES)[]): string {
  requirePythonModules(modules);
  try {
    return execFileSync(PYTHON, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${PYTHON} ${args.slice(0, 3).join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

const importable = new Set<string>();
function requirePythonModules(modules: readonly (keyof typeof PACKAGES)[]): void {
  for (const module of modules) {
    if (importable.has(module)) continue;
    try {
      execFileSync(PYTHON, ["-c", `import ${module}`], { stdio: "ignore" });
    } catch {
      const pkg = PACKAGES[module];
      throw new Error(
        `${PYTHON} cannot import ${module}: install Debian's ${pkg} (apt-get install ${pkg}); .ci/run does`,
      );
    }
    importable.add(module);
  }
}

export interface TinyInteropRun {
  /** The test's temporary folder (removed after the test). */
  dir: string;
  corpusPath: string;
  runDir: string;
}

/** Trains the tiny model for `steps` steps into a fresh temporary folder. */
export async function trainTinyInteropRun(steps = 40): Promise<TinyInteropRun> {
  const dir = tempDir("mlm-interop-");
  const corpusPath = join(dir, "corpus.txt");
  writeFileSync(corpusPath, tinySentences().join("\n") + "\n");
  // The pipeline tests' model, 40 steps at a constant rate (the PyTorch trainer continues the schedule).
  const config = tinyRunConfig(dir, corpusPath, {
    maxSteps: steps,
    evalSteps: 20,
    warmupSteps: 0,
    lrSchedule: "constant",
    dropout: 0.1,
    seed: 3,
  });
  const summary = await train(config, { log: () => {} });
  return { dir, corpusPath, runDir: summary.runDir };
}

/** The largest |a - b| over the pairs, divided by the range (max - min) of `reference`. */
export function relativeToRange(values: ArrayLike<number>, reference: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    lo = Math.min(lo, reference[i]);
    hi = Math.max(hi, reference[i]);
    worst = Math.max(worst, Math.abs(values[i] - reference[i]));
  }
  return worst / (hi - lo);
}
