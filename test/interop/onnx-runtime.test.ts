// A trained tiny model exported to ONNX runs in onnxruntime-web (WebAssembly, in Node): its logits at
// every real token of a padded batch equal mlm-ts's within 1e-4 of their range, the file passes
// Python onnx's full checker, and the files beside it are what transformers.js reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { batchOf } from "../../src/data/index.js";
import { exportOnnx, javascriptTokenizerWarnings, ONNX_EXPORT_FILES } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { python, relativeToRange, trainTinyInteropRun } from "./tiny-interop-run.js";

const SENTENCES = [
  "the red cat sat on the [MASK].",
  "the old fish sat on the pond.",
  "cow",
  "the happy young dog sat.",
];

test("the ONNX export gives mlm-ts's logits in onnxruntime-web, padded batches included", async (t) => {
  const { dir, runDir } = await trainTinyInteropRun();
  const out = join(dir, "onnx");
  const result = await exportOnnx(runDir, out, "test");
  assert.equal(result.checkpointDir, join(runDir, "best"));
  assert.equal(result.warnings.length, 1, "the tutorial's ## tokenizer is named as a limit of JavaScript tokenizers");
  const modelPath = join(out, ONNX_EXPORT_FILES.model);
  python(
    ["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", modelPath],
    ["onnx"],
  );

  const loaded = await loadModel(runDir);
  try {
    const { tokenizer, model } = loaded;
    const V = loaded.modelConfig.vocabSize;
    const encoded = SENTENCES.map((s) => Array.from(tokenizer.encodeIds(s)));
    const L = Math.max(...encoded.map((e) => e.length));
    const pad = tokenizer.tokenToId("[PAD]")!;
    const ids = new BigInt64Array(SENTENCES.length * L).fill(BigInt(pad));
    const mask = new BigInt64Array(SENTENCES.length * L);
    encoded.forEach((e, b) => e.forEach((id, i) => ((ids[b * L + i] = BigInt(id)), (mask[b * L + i] = 1n))));

    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(readFileSync(modelPath));
    assert.deepEqual(session.inputNames, ["input_ids", "attention_mask"]);
    assert.deepEqual(session.outputNames, ["logits"]);
    const output = await session.run({
      input_ids: new ort.Tensor("int64", ids, [SENTENCES.length, L]),
      attention_mask: new ort.Tensor("int64", mask, [SENTENCES.length, L]),
    });
    const logits = output.logits;
    assert.deepEqual(logits.dims, [SENTENCES.length, L, V]);
    const onnxValues = logits.data as Float32Array;

    // mlm-ts's logits at every real token, sentence by sentence, against the same rows of the batch
    const ours: number[] = [];
    const theirs: number[] = [];
    encoded.forEach((e, b) => {
      const rows = e.map((_, i) => i);
      const expected = model.logits(batchOf([{ ids: e }]), rows);
      ours.push(...expected);
      theirs.push(...onnxValues.subarray(b * L * V, (b * L + e.length) * V));
    });
    const error = relativeToRange(theirs, ours);
    t.diagnostic(`largest logit difference / range: ${error.toExponential(2)} over ${ours.length} logits`);
    assert.ok(error <= 1e-4, `ONNX logits differ from mlm-ts's by ${error} of their range`);
    await session.release();
  } finally {
    loaded.dispose();
  }

  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.model_type, "bert");
  assert.equal(config.vocab_size, loaded.modelConfig.vocabSize);
  assert.equal(config.num_hidden_layers, 2);
  const training = (config.mlm_ts as { training: Record<string, unknown> }).training;
  assert.equal(training.dModel, 32);
  assert.ok(!("data" in training) && !("outDir" in training), "no local paths in a folder meant to be shared");
  const tokConfig = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(tokConfig.mask_token, "[MASK]");
  assert.equal(tokConfig.model_max_length, 16);
  assert.equal(readFileSync(join(out, "tokenizer.json"), "utf8"), readFileSync(join(runDir, "tokenizer.json"), "utf8"));
});

test("the JavaScript-tokenizer warning names continuing_subword_prefix only when a BPE has one", () => {
  const bpe = (prefix: string | null): string =>
    JSON.stringify({ model: { type: "BPE", continuing_subword_prefix: prefix, vocab: {}, merges: [] } });
  assert.match(javascriptTokenizerWarnings(bpe("##"))[0], /continuing_subword_prefix "##".*--prefix none/);
  assert.deepEqual(javascriptTokenizerWarnings(bpe(null)), []);
  assert.deepEqual(javascriptTokenizerWarnings(bpe("")), []);
});
