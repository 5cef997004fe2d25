// The PyTorch round trip with Debian's python3-torch: export a trained tiny run of the fast recipe's
// architecture (pre-norm, GELU, tied output; dropout at one place, its own training mask rate), check
// that mlm_torch.py's model gives mlm-ts's logits (within 1e-4 of their range) and validation loss,
// train it with two DDP processes (gloo on CPU, torch.distributed.run on localhost at a free port),
// import the result, get PyTorch's validation loss back from `mlm eval` (within 1e-5 relative)
// and resume two steps in mlm-ts. The logits of the other architectures' exports match too (one Python
// process for all). Then: every bad header of an imported folder is a one-line error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportPytorch, importPytorch, npyInt32 } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { main } from "../../src/cli/main.js";
import { captureOutput } from "./capture.js";
import {
  ARCHITECTURES,
  FAST_ARCHITECTURE,
  logitsError,
  paddedBatch,
  PARITY_SENTENCES,
  python,
  readNpyFloat32,
  torchrun,
  trainTinyInteropRun,
  type PaddedBatch,
} from "./tiny-interop-run.js";

/** The tensor names in a safetensors file's header. */
function safetensorsNames(path: string): string[] {
  const b = readFileSync(path);
  const header = JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString("utf8")) as object;
  return Object.keys(header).filter((k) => k !== "__metadata__");
}

/** Writes the batch's ids and mask as int32 .npy files in `dir`; returns their paths. */
function writeBatch(dir: string, batch: PaddedBatch): [string, string] {
  const shape = [batch.encoded.length, batch.L];
  writeFileSync(join(dir, "ids.npy"), Buffer.concat(npyInt32(batch.ids, shape)));
  writeFileSync(join(dir, "mask.npy"), Buffer.concat(npyInt32(batch.mask, shape)));
  return [join(dir, "ids.npy"), join(dir, "mask.npy")];
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
  const { dir, runDir } = await trainTinyInteropRun(40, {
    ...FAST_ARCHITECTURE,
    dropoutHidden: 0.1,
    trainMaskProb: 0.4,
  });
  const exported = join(dir, "torch");
  const result = await exportPytorch(runDir, exported, "test");
  assert.equal(result.checkpointDir, join(runDir, "last-00000040"));
  assert.deepEqual(result.warnings, []);
  for (const f of ["mlm_torch.py", "model.safetensors", "optimizer.safetensors", "data/valid-00000.labels.npy"])
    assert.ok(existsSync(join(exported, f)), f);
  const names = safetensorsNames(join(exported, "model.safetensors"));
  assert.ok(names.includes("final.ln.weight") && names.includes("head.out.bias"), names.join(" "));
  assert.ok(!names.includes("head.out.weight"), "a tied output has no weight of its own");
  const exportedConfig = JSON.parse(readFileSync(join(exported, "config.json"), "utf8")) as {
    model: Record<string, unknown>;
    train: Record<string, unknown>;
  };
  assert.equal(exportedConfig.model.dropoutHidden, 0.1);
  assert.equal(exportedConfig.train.trainMaskProb, 0.4);
  const script = join(exported, "mlm_torch.py");

  // Logits of a padded batch: PyTorch against mlm-ts at every real token.
  const loaded = await loadModel(join(runDir, "last-00000040"));
  try {
    const V = loaded.modelConfig.vocabSize;
    const batch = paddedBatch(loaded.tokenizer, PARITY_SENTENCES);
    python([script, "logits", exported, ...writeBatch(dir, batch), join(dir, "logits.npy")], TORCH);
    const torch = readNpyFloat32(join(dir, "logits.npy"));
    assert.deepEqual(torch.shape, [batch.encoded.length, batch.L, V]);
    const { error, count } = logitsError(loaded.model, batch, torch.data, V);
    t.diagnostic(
      `fast recipe's: PyTorch logits, largest difference / range ${error.toExponential(2)} over ${count} logits`,
    );
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
  const ddp = await torchrun(dir, [script, "train", exported, "--out", trained, "--steps", "4", "--log-every", "1"]);
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

test("PyTorch exports of the other architecture options give mlm-ts's logits, padded batches included", async (t) => {
  const cases: { name: string; exported: string; runDir: string; dir: string; batch: PaddedBatch }[] = [];
  for (const arch of ARCHITECTURES.filter((a) => a.options !== FAST_ARCHITECTURE)) {
    const { dir, runDir } = await trainTinyInteropRun(40, arch.options);
    const exported = join(dir, "torch");
    await exportPytorch(runDir, exported, "test");
    const names = safetensorsNames(join(exported, "model.safetensors"));
    assert.equal(names.includes("embed.positions"), arch.options.positions === "learned", arch.name);
    assert.equal(names.includes("final.ln.weight"), arch.options.norm === "pre", arch.name);
    assert.equal(names.includes("head.out.weight"), arch.options.tieOutput !== true, arch.name);
    const loaded = await loadModel(join(runDir, "last-00000040"));
    const batch = paddedBatch(loaded.tokenizer, PARITY_SENTENCES);
    loaded.dispose();
    writeBatch(dir, batch);
    cases.push({ name: arch.name, exported, runDir, dir, batch });
  }
  // One Python process (torch's start-up is most of a call) runs `logits` for every export ...
  const call = cases.flatMap((c) => [
    c.exported,
    join(c.dir, "ids.npy"),
    join(c.dir, "mask.npy"),
    join(c.dir, "logits.npy"),
  ]);
  // ... and names the key of a model option it does not implement.
  const refusal = python(
    [
      "-c",
      "import sys\nsys.path.insert(0, sys.argv[1])\nimport mlm_torch\n" +
        "for i in range(1, len(sys.argv), 4): mlm_torch.main(['logits', *sys.argv[i:i + 4]])\n" +
        "try: mlm_torch.check_model_config({'norm': 'sandwich'}, 'config.json')\n" +
        "except ValueError as err: print(err)",
      ...call,
    ],
    TORCH,
  );
  assert.match(refusal, /^config\.json: the model option "norm" = 'sandwich' is not implemented/);
  for (const c of cases) {
    const loaded = await loadModel(join(c.runDir, "last-00000040"));
    try {
      const V = loaded.modelConfig.vocabSize;
      const torch = readNpyFloat32(join(c.dir, "logits.npy"));
      assert.deepEqual(torch.shape, [c.batch.encoded.length, c.batch.L, V]);
      const { error, count } = logitsError(loaded.model, c.batch, torch.data, V);
      t.diagnostic(
        `${c.name}: PyTorch logits, largest difference / range ${error.toExponential(2)} over ${count} logits`,
      );
      assert.ok(error <= 1e-4, `${c.name}: PyTorch logits differ from mlm-ts's by ${error} of their range`);
    } finally {
      loaded.dispose();
    }
  }
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
    /config\.json: "format" must be "mlm-ts-pytorch" version 1 or 2, got "other"/,
  );
  await refuses(
    editConfig((c) => (c.step = -1)),
    /config\.json: "step" must be a whole number >= 0, got -1/,
  );
  await refuses(
    editConfig((c) => ((c.model as Record<string, unknown>).dModel = 64)),
    /model\.safetensors: tensor "embed\.weight" has shape \[\d+, 32\], expected \[\d+, 64\]/,
  );
  await refuses(
    editConfig((c) => ((c.model as Record<string, unknown>).norm = "sandwich")),
    /config\.json "model".*norm.*sandwich/,
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
