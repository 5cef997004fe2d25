// The PyTorch round trip with Debian's python3-torch: export a trained tiny run, check that
// mlm_torch.py's model gives mlm-ts's logits (within 1e-4 of their range) and validation loss, train
// it with two DDP processes (gloo on CPU, torch.distributed.run --standalone: localhost, a free port),
// import the result, get PyTorch's validation loss back from `mlm eval` (within 1e-5 relative) and
// resume two steps in mlm-ts. Then: every bad header of an imported folder is a one-line error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { batchOf } from "../../src/data/index.js";
import { exportPytorch, importPytorch, npyInt32 } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { main } from "../../src/cli/main.js";
import { captureOutput } from "./capture.js";
import { python, relativeToRange, trainTinyInteropRun } from "./tiny-interop-run.js";

/** The values of a float32 .npy file (numpy.save of a C-ordered array). */
function readNpyFloat32(path: string): { shape: number[]; data: Float32Array } {
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

/** What mlm_torch.py imports besides the standard library. */
const TORCH = ["numpy", "torch"] as const;

async function evalLoss(runDir: string): Promise<number> {
  const { stdout, stderr, code } = await captureOutput(() =>
    main(["eval", "--model", runDir, "--split", "valid", "--json", "--backend", "ts"]),
  );
  assert.equal(code, 0, stderr);
  return (JSON.parse(stdout) as { loss: number }).loss;
}

test("export to PyTorch, train with two DDP processes, import, evaluate and resume in mlm-ts", async (t) => {
  const { dir, runDir } = await trainTinyInteropRun();
  const exported = join(dir, "torch");
  const result = await exportPytorch(runDir, exported, "test");
  assert.equal(result.checkpointDir, join(runDir, "last-00000040"));
  assert.deepEqual(result.warnings, []);
  for (const f of ["mlm_torch.py", "model.safetensors", "optimizer.safetensors", "data/valid_labels.npy"])
    assert.ok(existsSync(join(exported, f)), f);
  const script = join(exported, "mlm_torch.py");

  // Logits of a padded batch: PyTorch against mlm-ts at every real token.
  const loaded = await loadModel(join(runDir, "last-00000040"));
  try {
    const V = loaded.modelConfig.vocabSize;
    const encoded = ["the red cat sat on the [MASK].", "cow", "the old fish sat on the pond."].map((s) =>
      Array.from(loaded.tokenizer.encodeIds(s)),
    );
    const L = Math.max(...encoded.map((e) => e.length));
    const ids = new Int32Array(encoded.length * L);
    const mask = new Int32Array(encoded.length * L);
    encoded.forEach((e, b) => e.forEach((id, i) => ((ids[b * L + i] = id), (mask[b * L + i] = 1))));
    writeFileSync(join(dir, "ids.npy"), Buffer.concat(npyInt32(ids, [encoded.length, L])));
    writeFileSync(join(dir, "mask.npy"), Buffer.concat(npyInt32(mask, [encoded.length, L])));
    python([script, "logits", exported, join(dir, "ids.npy"), join(dir, "mask.npy"), join(dir, "logits.npy")], TORCH);
    const torch = readNpyFloat32(join(dir, "logits.npy"));
    assert.deepEqual(torch.shape, [encoded.length, L, V]);
    const ours: number[] = [];
    const theirs: number[] = [];
    encoded.forEach((e, b) => {
      ours.push(
        ...loaded.model.logits(
          batchOf([{ ids: e }]),
          e.map((_, i) => i),
        ),
      );
      theirs.push(...torch.data.subarray(b * L * V, (b * L + e.length) * V));
    });
    const error = relativeToRange(theirs, ours);
    t.diagnostic(`PyTorch logits: largest difference / range ${error.toExponential(2)} over ${ours.length} logits`);
    assert.ok(error <= 1e-4, `PyTorch logits differ from mlm-ts's by ${error} of their range`);
  } finally {
    loaded.dispose();
  }

  // The validation loss at the fixed masks, before any PyTorch training.
  const before = JSON.parse(python([script, "eval", exported], TORCH)) as { valid_loss: number };
  const ours = await evalLoss(join(runDir, "last-00000040"));
  t.diagnostic(`validation loss: mlm-ts ${ours}, PyTorch ${before.valid_loss}`);
  assert.ok(Math.abs(before.valid_loss - ours) <= 1e-5 * ours);

  // Two DDP processes on CPU for 4 steps.
  const trained = join(dir, "trained");
  const started = Date.now();
  const ddp = python(
    [
      "-m",
      "torch.distributed.run",
      "--standalone",
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
      script,
      "train",
      exported,
      "--out",
      trained,
      "--steps",
      "4",
      "--log-every",
      "1",
    ],
    TORCH,
  );
  t.diagnostic(`two DDP processes, ${Date.now() - started} ms:`);
  for (const line of ddp.trim().split("\n")) t.diagnostic(line);
  assert.match(ddp, /step 44: loss [\d.]+ lr .* \(2 processes\)/);
  const state = JSON.parse(readFileSync(join(trained, "trainer_state.json"), "utf8")) as Record<string, number>;
  assert.equal(state.step, 44);
  assert.equal(state.world_size, 2);

  // Back in mlm-ts: the same validation loss, then two more steps.
  const imported = join(dir, "imported");
  const { code, stdout, stderr } = await captureOutput(() => main(["import", trained, "--out", imported]));
  assert.equal(code, 0, stderr);
  assert.match(stdout, /imported step 44, validation loss .* into .*: best, last-00000044/);
  const after = await evalLoss(imported);
  t.diagnostic(`after DDP: PyTorch ${state.valid_loss}, mlm eval ${after}`);
  assert.ok(Math.abs(after - state.valid_loss) <= 1e-5 * state.valid_loss, `${after} vs ${state.valid_loss}`);
  assert.notEqual(after, ours, "PyTorch's steps changed the model");
  const resumed = await captureOutput(() =>
    main(["train", "--resume", imported, "--max-steps", "46", "--backend", "ts", "--no-progress"]),
  );
  assert.equal(resumed.code, 0, resumed.stderr);
  const last = JSON.parse(readFileSync(join(imported, "last-00000046", "train_state.json"), "utf8")) as {
    step: number;
  };
  assert.equal(last.step, 46);
});

test("import checks every file before writing: bad headers, shapes, steps and formats are one-line errors", async () => {
  const { dir, runDir, corpusPath } = await trainTinyInteropRun(2);
  const good = join(dir, "torch");
  await exportPytorch(runDir, good, "test");
  let n = 0;
  const broken = (change: (folder: string) => void): string => {
    const folder = join(dir, `broken-${n++}`);
    cpSync(good, folder, { recursive: true });
    change(folder);
    return folder;
  };
  const refuses = async (folder: string, message: RegExp): Promise<void> => {
    const out = join(dir, `run-${n++}`);
    await assert.rejects(importPytorch(folder, out), (err: Error) => {
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
    assert.ok(!existsSync(join(out, "config.json")), "nothing written");
  };
  const bytes = (folder: string, name: string): Buffer => readFileSync(join(folder, name));
  const editHeader = (folder: string, name: string, edit: (header: string) => string): void => {
    const b = bytes(folder, name);
    const size = Number(b.readBigUInt64LE(0));
    const header = edit(b.subarray(8, 8 + size).toString("utf8")).padEnd(size, " ");
    assert.equal(Buffer.byteLength(header), size, "the edit keeps the header's size");
    writeFileSync(join(folder, name), Buffer.concat([b.subarray(0, 8), Buffer.from(header), b.subarray(8 + size)]));
  };

  await refuses(
    broken((f) => writeFileSync(join(f, "model.safetensors"), bytes(f, "model.safetensors").subarray(0, 6))),
    /model\.safetensors: not a valid safetensors file: 6 bytes, expected at least 8/,
  );
  await refuses(
    broken((f) => {
      const b = bytes(f, "model.safetensors");
      b.writeBigUInt64LE(BigInt(b.length), 0);
      writeFileSync(join(f, "model.safetensors"), b);
    }),
    /header size \d+ runs past the end/,
  );
  await refuses(
    broken((f) => editHeader(f, "model.safetensors", (h) => h.replace('"F32"', '"F16"'))),
    /has dtype "F16", only "F32" is supported/,
  );
  await refuses(
    broken((f) => editHeader(f, "model.safetensors", (h) => h.replace('"data_offsets":[0,', '"data_offsets":[4,'))),
    /spans \d+ bytes but shape|starts at byte/,
  );
  await refuses(
    // [V, 32] -> [32, V]: the same size, the wrong layout
    broken((f) =>
      editHeader(f, "model.safetensors", (h) =>
        h.replace(
          /"embed\.weight":\{"dtype":"F32","shape":\[(\d+),(\d+)\]/,
          '"embed.weight":{"dtype":"F32","shape":[$2,$1]',
        ),
      ),
    ),
    /model\.safetensors: tensor "embed\.weight" has shape \[32, \d+\], expected \[\d+, 32\]/,
  );
  await refuses(
    broken((f) => copyFileSync(join(f, "optimizer.safetensors"), join(f, "model.safetensors"))),
    /model\.safetensors: missing tensor "embed.weight"/,
  );
  await refuses(
    broken((f) => editHeader(f, "optimizer.safetensors", (h) => h.replace('"step":"2"', '"step":"9"'))),
    /optimizer\.safetensors: metadata step 9 differs from config\.json's step 2/,
  );
  const editConfig = (edit: (c: Record<string, unknown>) => void) =>
    broken((f) => {
      const c = JSON.parse(readFileSync(join(f, "config.json"), "utf8")) as Record<string, unknown>;
      edit(c);
      writeFileSync(join(f, "config.json"), JSON.stringify(c));
    });
  await refuses(
    editConfig((c) => (c.format = "other")),
    /config\.json: "format" must be "mlm-ts-pytorch" version 1/,
  );
  await refuses(
    editConfig((c) => (c.step = -1)),
    /config\.json: "step" must be a whole number >= 0, got -1/,
  );
  await refuses(
    editConfig((c) => ((c.model as Record<string, unknown>).dModel = 64)),
    /model\.safetensors: tensor "embed\.weight" has shape \[\d+, 32\], expected \[\d+, 64\]/,
  );
  await refuses(join(dir, "nowhere"), /nowhere: no config\.json/);

  // A corpus changed since training would give other splits: the export refuses, naming it.
  writeFileSync(corpusPath, "a sentence that was not there.\n", { flag: "a" });
  await assert.rejects(exportPytorch(runDir, join(dir, "again"), "test"), (err: Error) => {
    assert.match(
      err.message,
      /corpus\.txt.*the exported splits would hold other sentences than the run was trained on/,
    );
    return true;
  });
});
