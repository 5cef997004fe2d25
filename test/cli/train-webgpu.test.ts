// `mlm train --backend webgpu` in Node, through the optional npm package `webgpu` (Dawn): without the
// package, and with it but without an adapter, one line says what is missing (exit 2, nothing
// written); on a software GPU (SwiftShader's Vulkan driver, shipped by Debian's Chromium) a tiny run's
// losses are within 1e-4 relative of the WebAssembly backend's, and a run stopped at step 3 resumes to
// the uninterrupted run's losses bit for bit; a step that goes non-finite stops the run as on the CPU
// backends (the browser's: test/browser/webgpu-nonfinite.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { listLastCheckpoints, readMetricsFile, readRunStatus } from "../../src/run/index.js";
import { WEBGPU_PACKAGE } from "../../src/platform/node-webgpu.js";
import { swiftShaderVulkanEnv } from "../browser/chromium.js";
import { scratchFolder, srcModule, startScript } from "./child.js";
import { writeTinyCorpus } from "../train/fixtures.js";

const root = scratchFolder("mlm-train-webgpu-");
const corpus = writeTinyCorpus(root);
const TINY = ["--sample", "1", "--vocab-size", "80", "--min-frequency", "1", "--max-len", "16", "--d-model", "16"];
const SHAPE = [...TINY, "--num-heads", "2", "--d-ff", "32", "--num-layers", "2", "--batch-size", "16"];
const RUN = [
  corpus,
  ...SHAPE,
  "--learning-rate",
  "1e-2",
  "--log-steps",
  "1",
  "--eval-steps",
  "6",
  "--threads",
  "1",
  "--no-progress",
];

/** `mlm train ARGS` in `env`; its exit code and output. */
async function mlmTrain(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; err: string }> {
  const child = startScript(srcModule("cli/main"), ["train", ...args], env);
  const { code } = await child.exited;
  return { code, err: child.stderr() };
}

/** The training losses of a run, by step. */
async function trainLosses(runDir: string): Promise<number[]> {
  const records = await readMetricsFile(join(runDir, "metrics.jsonl"));
  return records.filter((r) => r.split === "train").map((r) => r.loss as number);
}

/** mlm's own lines on stderr (Dawn's native warnings about the drivers it looked for stand before them). */
const mlmLines = (err: string): string[] => err.split("\n").filter((line) => line.startsWith("mlm "));

test("the version of the webgpu package that the messages name is package.json's peer dependency", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  assert.equal(WEBGPU_PACKAGE, `webgpu@${pkg.peerDependencies.webgpu}`);
  assert.equal(pkg.peerDependenciesMeta.webgpu.optional, true);
});

test("without the webgpu package, or without an adapter: one line naming what is missing, exit 2, nothing written", async () => {
  // The package made unfindable as it is on a machine without it: Node's own error for a missing package.
  const hook = join(root, "no-webgpu.mjs");
  const resolve = `export async function resolve(specifier, context, next) {
    if (specifier !== "webgpu") return next(specifier, context);
    const e = new Error("Cannot find package 'webgpu' imported from " + context.parentURL);
    e.code = "ERR_MODULE_NOT_FOUND";
    throw e;
  }`;
  writeFileSync(
    hook,
    `import { register } from "node:module";\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolve)}`)});\n`,
  );
  const outDir = join(root, "no-package");
  const missing = await mlmTrain([...RUN, "--backend", "webgpu", "--out-dir", outDir], {
    ...process.env,
    NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`,
  });
  assert.equal(missing.code, 2, missing.err);
  assert.equal(
    missing.err,
    `mlm train: --backend webgpu: Node has no WebGPU of its own and the npm package webgpu (Dawn) is not installed: npm install ${WEBGPU_PACKAGE}\n`,
  );
  assert.equal(existsSync(outDir), false);

  // The package, and a Vulkan loader that finds no driver: Dawn gives no adapter.
  const noDriver = join(root, "no-adapter");
  const none = await mlmTrain([...RUN, "--backend", "webgpu", "--out-dir", noDriver], {
    ...swiftShaderVulkanEnv(),
    VK_ICD_FILENAMES: join(root, "no-such-driver.json"),
  });
  assert.equal(none.code, 2, none.err);
  assert.deepEqual(mlmLines(none.err), [
    `mlm train: --backend webgpu: the npm package webgpu (Dawn) on ${process.platform} ${process.arch} gave no adapter (no usable GPU or driver)`,
  ]);
  assert.equal(existsSync(noDriver), false);
});

test("on SwiftShader's Vulkan driver: within 1e-4 of WebAssembly's losses, and a stopped run resumes exactly", async () => {
  const env = swiftShaderVulkanEnv();
  const wasmDir = join(root, "wasm");
  const gpuDir = join(root, "webgpu");
  const stoppedDir = join(root, "webgpu-resumed");
  const wasm = await mlmTrain([...RUN, "--max-steps", "6", "--out-dir", wasmDir], env);
  assert.equal(wasm.code, 0, wasm.err);
  const whole = await mlmTrain([...RUN, "--backend", "webgpu", "--max-steps", "6", "--out-dir", gpuDir], env);
  assert.equal(whole.code, 0, whole.err); // and the process ended: Dawn holds nothing open after the run
  const expected = await trainLosses(wasmDir);
  const losses = await trainLosses(gpuDir);
  assert.equal(losses.length, 6);
  assert.ok(expected[5] < expected[0] - 0.05, `the run learns: ${expected.join(", ")}`);
  losses.forEach((loss, i) =>
    assert.ok(Math.abs(loss - expected[i]) <= 1e-4 * expected[i], `step ${i + 1}: ${loss} against ${expected[i]}`),
  );
  const config = JSON.parse(readFileSync(join(gpuDir, "config.json"), "utf8"));
  assert.equal(config.backend, "webgpu");

  const first = await mlmTrain([...RUN, "--backend", "webgpu", "--max-steps", "3", "--out-dir", stoppedDir], env);
  assert.equal(first.code, 0, first.err);
  const resumed = await mlmTrain(["--resume", stoppedDir, "--max-steps", "6", "--no-progress"], env);
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(await trainLosses(stoppedDir), losses);
});

test("the commands that read logits on the CPU refuse --backend webgpu with exit 2: fine-tuning, fill", async () => {
  const labelled = join(root, "labelled.tsv");
  writeFileSync(labelled, "text\tlabel\nthe cat\ta\nthe dog\tb\n");
  const finetune = startScript(srcModule("cli/main"), ["finetune", labelled, "--from", "none", "--backend", "webgpu"]);
  assert.equal((await finetune.exited).code, 2);
  assert.equal(
    finetune.stderr(),
    "mlm finetune: --backend webgpu trains masked language models only (mlm train); fine-tuning runs on wasm or ts\n",
  );
  const fill = startScript(srcModule("cli/main"), ["fill", "a [MASK]", "--model", root, "--backend", "webgpu"]);
  assert.equal((await fill.exited).code, 2);
  assert.equal(fill.stderr(), 'mlm fill: --backend must be one of wasm, ts, got "webgpu"\n');
});

test("a non-finite step on Dawn stops mlm train as on the CPU: the step and the tensor named, exit 1, last good checkpoint kept", async () => {
  const outDir = join(root, "nonfinite");
  const { code, err } = await mlmTrain(
    [...RUN, "--backend", "webgpu", "--learning-rate", "1e9", "--out-dir", outDir],
    swiftShaderVulkanEnv(),
  );
  assert.equal(code, 1, err);
  assert.match(
    mlmLines(err).join("\n"),
    /^mlm train: step 2: the gradient of \S+ holds NaN \(index \d+ of \[[\d x]+\]\), the first tensor backpropagation computes that went bad .*; the run stopped and its latest checkpoint, .*last-00000000, is kept$/,
  );
  assert.equal((await readRunStatus(outDir))?.state, "failed");
  assert.deepEqual(
    (await listLastCheckpoints(outDir)).map((p) => p.slice(-13)),
    ["last-00000000"],
  );
});
