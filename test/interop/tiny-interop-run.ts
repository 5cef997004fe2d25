/**
 * What the interop tests share: a tiny trained run (the pipeline tests' 50 sentences, a 2-layer model,
 * 40 steps on the "ts" backend, about a second) in a temporary folder, and Debian's Python, which must
 * have numpy, torch and onnx: a missing one fails the test with the package to install, never skips it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { pickKeys } from "../../src/config/resolve.js";
import { RECIPES } from "../../src/config/recipes.js";
import type { TrainConfig } from "../../src/config/index.js";
import { batchOf } from "../../src/data/index.js";
import { MODEL_KEYS, type MlmModel } from "../../src/model/index.js";
import type { Tokenizer } from "../../src/tokenizer/index.js";
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

/** The values of a float32 .npy file (numpy.save of a C-ordered array). */
export function readNpyFloat32(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString("latin1");
  assert.match(header, /'descr': '<f4'/);
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(",")
    .filter((s) => s.trim() !== "")
    .map(Number);
  const start = 10 + headerLength;
  return {
    shape,
    data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length)),
  };
}

/** A TCP port free on localhost now (the system's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `script args` in two DDP processes on CPU (gloo) through torch.distributed.run on localhost at
 * a free port, its logs under `dir`; returns the processes' stdout.
 */
export async function torchrun(dir: string, scriptAndArgs: string[]): Promise<string> {
  return python(
    [
      "-m",
      "torch.distributed.run",
      // Not --standalone: torch 1.13 puts its store on port 29400 whatever runs there, so two test runs
      // on one machine (other checkouts) would join each other's rendezvous and break when one ends.
      "--nnodes",
      "1",
      "--master_addr",
      "127.0.0.1",
      "--master_port",
      String(await freePort()),
      "--nproc_per_node",
      "2",
      // Python 3.11 cannot parse torch 1.13's default "-r 0" (an enum change), so stdout is redirected
      // to the log folder and teed back explicitly.
      "-r",
      "1",
      "-t",
      "1",
      "--log_dir",
      join(dir, "torchrun-logs"),
      ...scriptAndArgs,
    ],
    ["numpy", "torch"],
  );
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

/** The model keys of the fast recipe: pre-norm, GELU, an output tied to the embedding, its init scale, no dropout. */
export const FAST_ARCHITECTURE: Partial<TrainConfig> = pickKeys(
  RECIPES.fast,
  MODEL_KEYS.filter((k) => k in RECIPES.fast),
);

/** The model keys of the bert recipe: exactly BERT's (LayerNorm embedding, learned positions, post-norm, GELU, tied output). */
export const BERT_ARCHITECTURE: Partial<TrainConfig> = pickKeys(
  RECIPES.bert,
  MODEL_KEYS.filter((k) => k in RECIPES.bert),
);

/** Architectures the export tests cover, each a tiny run's model options. */
export const ARCHITECTURES: readonly { name: string; options: Partial<TrainConfig> }[] = [
  { name: "tutorial (post-norm, ReLU, sinusoidal, own output)", options: {} },
  {
    name: "pre-norm, GELU, tied output, learned positions",
    options: { norm: "pre", activation: "gelu", tieOutput: true, positions: "learned", embedInitStd: 0.18 },
  },
  { name: "scaled sinusoidal positions", options: { positions: "scaled-sinusoidal", embedInitStd: 0.18 } },
  { name: "fast recipe's", options: FAST_ARCHITECTURE },
  { name: "bert recipe's (LayerNorm embedding)", options: BERT_ARCHITECTURE },
];

/** Trains the tiny model (with `options` over its settings) for `steps` steps into a fresh temporary folder. */
export async function trainTinyInteropRun(steps = 40, options: Partial<TrainConfig> = {}): Promise<TinyInteropRun> {
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
    ...options,
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

/** Sentences of the tiny corpus's words, of different lengths, for padded batches. */
export const PARITY_SENTENCES = [
  "the red cat sat on the [MASK].",
  "the old fish sat on the pond.",
  "cow",
  "the happy young dog sat.",
];

/** A batch of sentences padded to the longest: ids ([PAD] after each) and mask (1 real, 0 padding), [B, L]. */
export interface PaddedBatch {
  encoded: number[][];
  L: number;
  ids: Int32Array;
  mask: Int32Array;
}

export function paddedBatch(tokenizer: Tokenizer, sentences: readonly string[]): PaddedBatch {
  const encoded = sentences.map((s) => Array.from(tokenizer.encodeIds(s)));
  const L = Math.max(...encoded.map((e) => e.length));
  const ids = new Int32Array(encoded.length * L).fill(tokenizer.tokenToId("[PAD]")!);
  const mask = new Int32Array(encoded.length * L);
  encoded.forEach((e, b) => e.forEach((id, i) => ((ids[b * L + i] = id), (mask[b * L + i] = 1))));
  return { encoded, L, ids, mask };
}

/**
 * How far another engine's logits [B, L, V] of `batch` are from mlm-ts's, at every real token: the
 * largest difference divided by the range of mlm-ts's (sentence by sentence, unpadded), and how many
 * logits were compared.
 */
export function logitsError(
  model: MlmModel,
  batch: PaddedBatch,
  values: Float32Array,
  V: number,
): { error: number; count: number } {
  const ours: number[] = [];
  const theirs: number[] = [];
  batch.encoded.forEach((e, b) => {
    ours.push(
      ...model.logits(
        batchOf([{ ids: e }]),
        e.map((_, i) => i),
      ),
    );
    theirs.push(...values.subarray(b * batch.L * V, (b * batch.L + e.length) * V));
  });
  return { error: relativeToRange(theirs, ours), count: ours.length };
}
