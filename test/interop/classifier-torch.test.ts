// The classifier against an independent PyTorch implementation (mlm_torch.py's Classifier, Debian's
// torch): the logits and the mean cross-entropy of one padded batch agree to float rounding, for the
// tutorial's model with [CLS] pooling and for pre-norm / GELU / learned positions with mean pooling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { batchOf } from "../../src/data/index.js";
import { npyInt32, toTorchLayout } from "../../src/interop/index.js";
import { writeSafetensors } from "../../src/run/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { tempDir } from "../temp-dir.js";
import { writeTinyCheckpoints } from "../pipelines/tiny-checkpoints.js";
import { paddedBatch, python, relativeToRange } from "./tiny-interop-run.js";

const SCRIPT = fileURLToPath(new URL("../../../src/interop/python/mlm_torch.py", import.meta.url));
const SENTENCES = ["the cat sat on the mat", "a bird", "fish swim in a tree on the log", "the dog"];
const LABELS = [0, 2, 1, 2];

function readNpyFloat32(path: string): Float32Array {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  assert.match(bytes.subarray(10, 10 + headerLength).toString("latin1"), /'descr': '<f4'/);
  const start = 10 + headerLength;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
}

for (const [name, options] of [
  ["tutorial, [CLS] pooling", {}],
  [
    "pre-norm, GELU, learned positions, mean pooling",
    { model: { norm: "pre", activation: "gelu", positions: "learned" }, pooling: "mean" },
  ],
] as const) {
  test(`classifier logits and loss equal PyTorch's to float rounding (${name})`, async () => {
    const dir = tempDir("mlm-classifier-torch-");
    const tiny = await writeTinyCheckpoints(dir, options);
    const loaded = await loadModel(tiny.classifierDir, { task: "text-classification", maxBatch: 4 });
    try {
      const batch = paddedBatch(loaded.tokenizer, SENTENCES);
      const shape = [SENTENCES.length, batch.L];
      writeFileSync(join(dir, "ids.npy"), Buffer.concat(npyInt32(batch.ids, shape)));
      writeFileSync(join(dir, "mask.npy"), Buffer.concat(npyInt32(batch.mask, shape)));
      writeFileSync(join(dir, "labels.npy"), Buffer.concat(npyInt32(Int32Array.from(LABELS))));
      // the checkpoint in PyTorch's layout (nn.Linear [out, in], LayerNorm weight/bias), as the export writes it
      const torchDir = join(dir, "torch");
      mkdirSync(torchDir);
      copyFileSync(join(tiny.classifierDir, "config.json"), join(torchDir, "config.json"));
      const torchTensors = toTorchLayout(loaded.model.specs, loaded.model.tensors());
      writeFileSync(join(torchDir, "model.safetensors"), Buffer.concat(writeSafetensors(torchTensors)));
      const out = python(
        [
          SCRIPT,
          "classify",
          torchDir,
          ...["ids", "mask", "labels"].map((n) => join(dir, `${n}.npy`)),
          join(dir, "logits.npy"),
        ],
        ["numpy", "torch"],
      );
      const torchLoss = (JSON.parse(out) as { loss: number }).loss;
      const torchLogits = readNpyFloat32(join(dir, "logits.npy"));
      // mlm-ts: the same sentences unpadded, each labelled on its [CLS] row
      const ours = loaded.model.evaluate(
        batchOf(batch.encoded.map((ids, b) => ({ ids, labels: ids.map((_, i) => (i === 0 ? LABELS[b] : -100)) }))),
      );
      assert.equal(torchLogits.length, ours.logits.length);
      const error = relativeToRange(torchLogits, ours.logits);
      assert.ok(error < 1e-5, `logits differ by ${error} of their range`);
      const loss = ours.lossSum / ours.count;
      assert.ok(Math.abs(loss - torchLoss) < 1e-5 * Math.abs(torchLoss), `loss ${loss} vs PyTorch ${torchLoss}`);
    } finally {
      loaded.dispose();
    }
  });
}
