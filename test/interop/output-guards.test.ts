// mlm export and mlm import never destroy what they read nor a run: an output that is, contains or
// lies inside an input, or lies inside a run's checkpoint folder, or is another run, is refused with
// exit code 2; an existing folder is replaced only with --force; weights or moments holding NaN or
// an infinity are refused with exit code 1, naming the file, the tensor and the index. Every refusal
// leaves every file as it was (compared by SHA-256).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { main } from "../../src/cli/main.js";
import { exportPytorch } from "../../src/interop/index.js";
import {
  loadCheckpoint,
  readSafetensors,
  readSafetensorsMetadata,
  saveCheckpoint,
  writeSafetensors,
} from "../../src/run/index.js";
import { fileHashes } from "../file-hashes.js";
import { trainTinyInteropRun } from "./tiny-interop-run.js";

const tiny = await trainTinyInteropRun(20);
const root = tiny.dir;
const run = tiny.runDir;
const other = (await trainTinyInteropRun(20)).runDir; // another run, for the checkpoint-folder rule
const exported = join(root, "exported");
await exportPytorch(run, exported, "test");

/**
 * `mlm ARGS` in this process, with what it writes to stderr (stdout, where the test runner reports,
 * is left alone: the messages under test are on stderr, and the exports' file lists are not read).
 */
async function mlm(args: string[]): Promise<{ code: number; stderr: string }> {
  const original = process.stderr.write;
  let stderr = "";
  process.stderr.write = (chunk: string | Uint8Array): boolean => {
    stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  };
  const stdout = process.stdout.write;
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean =>
    String(chunk).startsWith("exported ") ? true : stdout.call(process.stdout, chunk, ...(rest as []));
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = original;
    process.stdout.write = stdout;
  }
}

/** Runs `mlm ARGS` in this process and checks that every file under `watched` is unchanged. */
async function refused(args: string[], watched: string[]): Promise<{ code: number; stderr: string }> {
  const before = watched.map((dir) => fileHashes(dir));
  const { code, stderr } = await mlm(args);
  watched.forEach((dir, i) => assert.deepEqual(fileHashes(dir), before[i], `${args.join(" ")}: ${dir} changed`));
  return { code, stderr };
}

test("mlm export refuses an output that is, holds or lies inside the run, or sits in a checkpoint folder: exit 2", async () => {
  const link = join(root, "link-to-run");
  symlinkSync(run, link);
  // onnx exports best/, pytorch the newest last-*/ (best/ is then only a folder inside the run).
  const cases = (format: string): [string, string][] => [
    [
      run,
      `mlm export: --out ${run} is the folder exported (${run}): writing there would destroy it; choose another folder\n`,
    ],
    [
      link,
      `mlm export: --out ${run} is the folder exported (${run}): writing there would destroy it; choose another folder\n`,
    ],
    [
      join(run, "best"),
      format === "onnx"
        ? `mlm export: --out ${run}/best is the checkpoint exported (${run}/best): writing there would destroy it; choose another folder\n`
        : `mlm export: --out ${run}/best lies inside the folder exported (${run}): writing there would destroy it; choose another folder\n`,
    ],
    [
      join(run, "last-00000020", "x"),
      `mlm export: --out ${run}/last-00000020/x lies inside the folder exported (${run}): writing there would destroy it; choose another folder\n`,
    ],
    [
      dirname(run),
      `mlm export: --out ${root} contains the folder exported (${run}): writing there would destroy it; choose another folder\n`,
    ],
    [
      join(other, "best", "onnx"),
      `mlm export: --out ${other}/best/onnx lies inside ${other}/best, a checkpoint folder of run ${other}, which its next save replaces; choose another folder\n`,
    ],
  ];
  for (const format of ["onnx", "pytorch"]) {
    for (const [out, message] of cases(format)) {
      const { code, stderr } = await refused(
        ["export", run, "--format", format, "--out", out, "--force"],
        [run, other],
      );
      assert.equal(stderr, message, `${format} ${out}`);
      assert.equal(code, 2);
    }
    // Another run, even with --force: an export there would replace the run.
    const { code, stderr } = await refused(
      ["export", run, "--format", format, "--out", other, "--force"],
      [run, other],
    );
    assert.equal(
      stderr,
      `mlm export: --out ${other} is a run directory; an export there would destroy the run; choose another folder\n`,
    );
    assert.equal(code, 2);
  }
});

test("mlm export into an existing folder: refused without --force whatever it holds, replaced whole with it", async () => {
  const out = join(root, "mine");
  mkdirSync(out);
  writeFileSync(join(out, "config.json"), '{"mine": true}\n');
  const { code, stderr } = await refused(["export", run, "--format", "onnx", "--out", out], [out, run]);
  assert.equal(
    stderr,
    `mlm export: --out ${out} already exists; choose a new folder, or give --force to replace it and everything in it\n`,
  );
  assert.equal(code, 2);
  const forced = await mlm(["export", run, "--format", "onnx", "--out", out, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(Object.keys(fileHashes(out)), [
    "config.json",
    "onnx/model.onnx",
    "tokenizer.json",
    "tokenizer_config.json",
  ]);
  assert.notEqual(readFileSync(join(out, "config.json"), "utf8"), '{"mine": true}\n');
});

test("mlm import refuses an output that is, holds or lies inside its input or a checkpoint folder, and an existing one without --force", async () => {
  const taken = join(root, "taken");
  mkdirSync(taken);
  writeFileSync(join(taken, "notes.txt"), "mine\n");
  const cases: [string[], string][] = [
    [
      [exported, "--force"],
      `--out ${exported} is the folder imported (${exported}): writing there would destroy it; choose another folder`,
    ],
    [
      [root, "--force"],
      `--out ${root} contains the folder imported (${exported}): writing there would destroy it; choose another folder`,
    ],
    [
      [join(exported, "run"), "--force"],
      `--out ${exported}/run lies inside the folder imported (${exported}): writing there would destroy it; choose another folder`,
    ],
    [
      [join(other, "last-00000020", "x"), "--force"],
      `--out ${other}/last-00000020/x lies inside ${other}/last-00000020, a checkpoint folder of run ${other}, which its next save replaces; choose another folder`,
    ],
    [[taken], `--out ${taken} already exists; import into a new folder, or give --force to replace the run in it`],
    [[join(taken, "notes.txt"), "--force"], `--out ${taken}/notes.txt is a file; expected a folder to write`],
  ];
  for (const [[out, ...flags], message] of cases) {
    const { code, stderr } = await refused(["import", exported, "--out", out, ...flags], [exported, other, taken]);
    assert.equal(stderr, `mlm import: ${message}\n`);
    assert.equal(code, 2);
  }
});

/** A copy of the export with one number of one tensor of `file` replaced by `value`. */
function poisoned(
  file: "model.safetensors" | "optimizer.safetensors",
  name: string,
  index: number,
  value: number,
): string {
  const dir = join(root, `poisoned-${file}-${value}`);
  mkdirSync(dir);
  for (const [path] of Object.entries(fileHashes(exported))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), readFileSync(join(exported, path)));
  }
  const bytes = readFileSync(join(exported, file));
  const tensors = [...readSafetensors(bytes)].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data }));
  tensors.find((t) => t.name === name)!.data[index] = value;
  writeFileSync(join(dir, file), Buffer.concat(writeSafetensors(tensors, readSafetensorsMetadata(bytes))));
  return dir;
}

test("mlm import refuses NaN and infinite weights or moments, naming the tensor and the index: exit 1, nothing written", async () => {
  const cases = [
    [
      poisoned("model.safetensors", "layers.0.attn.q.weight", 5, NaN),
      "model.safetensors",
      `"layers.0.attn.q.weight" holds NaN at index 5 ([0, 5] of [32, 32]); non-finite weights are refused`,
    ],
    [
      poisoned("optimizer.safetensors", "exp_avg_sq.embed.weight", 40, Infinity),
      "optimizer.safetensors",
      `"exp_avg_sq.embed.weight" holds Infinity at index 40 ([1, 8] of [100, 32]); non-finite moments are refused`,
    ],
  ] as const;
  for (const [dir, file, message] of cases) {
    const out = join(root, `imported-${file}`);
    const { code, stderr } = await refused(["import", dir, "--out", out], [dir]);
    assert.equal(stderr, `mlm import: ${join(dir, file)}: ${message}\n`);
    assert.equal(code, 1);
    assert.equal(existsSync(out), false);
  }
});

test("mlm export refuses a checkpoint holding NaN weights, naming the tensor and the index: exit 1, nothing written", async () => {
  const best = join(other, "best");
  const ckpt = await loadCheckpoint(best);
  ckpt.tensors.find((t) => t.name === "embed.weight")!.data[3] = -Infinity;
  await saveCheckpoint(best, ckpt);
  for (const format of ["onnx", "pytorch"]) {
    const out = join(root, `nan-${format}`);
    const checkpoint = format === "onnx" ? best : join(other, "last-00000020");
    if (format === "pytorch") {
      const last = await loadCheckpoint(checkpoint);
      last.tensors.find((t) => t.name === "embed.weight")!.data[3] = -Infinity;
      await saveCheckpoint(checkpoint, last);
    }
    const { code, stderr } = await refused(["export", other, "--format", format, "--out", out], [other]);
    assert.equal(
      stderr,
      `mlm export: ${checkpoint}/model.safetensors: "embed.weight" holds -Infinity at index 3 ([0, 3] of [100, 32]); non-finite weights are refused\n`,
    );
    assert.equal(code, 1);
    assert.equal(existsSync(out), false);
  }
});
