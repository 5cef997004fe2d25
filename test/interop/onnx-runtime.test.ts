// Trained tiny models of each architecture option exported to ONNX run in onnxruntime-web
// (WebAssembly, in Node): their logits at every real token of a padded batch equal mlm-ts's within 1e-4
// of their range, a 300-token input fails with an error that names the model's length, every file
// passes Python onnx's full checker, and the files beside them are what
// transformers.js reads. A model option the export does not know is refused, naming the key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { exportOnnx, javascriptTokenizerProblem, mlmOnnxModel, ONNX_EXPORT_FILES } from "../../src/interop/index.js";
import { modelConfigOf, paramLayout, tensorViews, type ModelConfig } from "../../src/model/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import {
  ARCHITECTURES,
  BERT_ARCHITECTURE,
  logitsError,
  paddedBatch,
  PARITY_SENTENCES,
  python,
  trainTinyInteropRun,
} from "./tiny-interop-run.js";

/** onnxruntime-web's error for an input past the tiny models' 16 positions (the graph names the limit). */
const LONG_INPUT_ERROR =
  /Non-zero status code returned while running Gather node\. Name:'input longer than max_position_embeddings=16 tokens: truncate it' Status Message: indices element out of data bounds, idx=16 must be within the inclusive range \[-16,15\]/;

/** The ONNX model at `modelPath` run on `sentences` padded to one batch, against mlm-ts's run `runDir`. */
async function onnxParity(runDir: string, modelPath: string): Promise<{ error: number; count: number }> {
  const loaded = await loadModel(runDir);
  try {
    const V = loaded.modelConfig.vocabSize;
    const batch = paddedBatch(loaded.tokenizer, PARITY_SENTENCES);
    const dims = [PARITY_SENTENCES.length, batch.L];
    // log level fatal: the long input's error is asserted, not printed
    const session = await ort.InferenceSession.create(readFileSync(modelPath), { logSeverityLevel: 4 });
    try {
      assert.deepEqual(session.inputNames, ["input_ids", "attention_mask"]);
      assert.deepEqual(session.outputNames, ["logits", "last_hidden_state"]);
      const output = await session.run({
        input_ids: new ort.Tensor("int64", BigInt64Array.from(batch.ids, BigInt), dims),
        attention_mask: new ort.Tensor("int64", BigInt64Array.from(batch.mask, BigInt), dims),
      });
      assert.deepEqual(output.logits.dims, [...dims, V]);
      // Longer than the model's 16 positions: ONNX Runtime's error names the limit (the Gather node's name)
      const ids = BigInt64Array.from({ length: 300 }, (_, i) => BigInt(5 + (i % 7)));
      await assert.rejects(
        session.run({
          input_ids: new ort.Tensor("int64", ids, [1, 300]),
          attention_mask: new ort.Tensor("int64", new BigInt64Array(300).fill(1n), [1, 300]),
        }),
        LONG_INPUT_ERROR,
      );
      return logitsError(loaded.model, batch, output.logits.data as Float32Array, V);
    } finally {
      await session.release();
    }
  } finally {
    loaded.dispose();
  }
}

test("ONNX exports of every architecture option give mlm-ts's logits in onnxruntime-web, padded batches included", async (t) => {
  ort.env.wasm.numThreads = 1;
  const modelPaths: string[] = [];
  let first: { out: string; runDir: string } | null = null;
  for (const arch of ARCHITECTURES) {
    const { dir, runDir } = await trainTinyInteropRun(40, arch.options);
    const out = join(dir, "onnx");
    await assert.rejects(exportOnnx(runDir, out, "test"), /continuing_subword_prefix "##".*--any-tokenizer/);
    const result = await exportOnnx(runDir, out, "test", { anyTokenizer: true });
    assert.equal(result.checkpointDir, join(runDir, "best"));
    assert.match(
      result.warnings[0],
      /continuing_subword_prefix/,
      "the tutorial's ## tokenizer is a limit of JavaScript tokenizers",
    );
    const isBert = arch.options === BERT_ARCHITECTURE;
    // model_type stays "bert" (transformers.js's pipelines need it); the rest says whether the weights are BERT's
    assert.equal(result.warnings.length, isBert ? 1 : 2, arch.name);
    if (!isBert)
      assert.match(
        result.warnings[1],
        /model_type "bert" because transformers\.js .* not BERT: the model option "(embedding|positions|norm)"/,
      );
    const modelPath = join(out, ONNX_EXPORT_FILES.model);
    modelPaths.push(modelPath);
    first ??= { out, runDir };
    const { error, count } = await onnxParity(runDir, modelPath);
    t.diagnostic(`${arch.name}: largest logit difference / range ${error.toExponential(2)} over ${count} logits`);
    assert.ok(error <= 1e-4, `${arch.name}: ONNX logits differ from mlm-ts's by ${error} of their range`);

    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    const model = (config.mlm_ts as { model: ModelConfig }).model;
    for (const [key, value] of Object.entries(arch.options))
      assert.deepEqual(model[key as keyof ModelConfig], value, key);
    assert.equal(config.hidden_act, model.activation === "gelu" ? "gelu_new" : "relu");
    assert.equal(config.tie_word_embeddings, model.tieOutput);
    assert.equal(config.model_type, "bert");
    assert.deepEqual(config.architectures, [isBert ? "BertForMaskedLM" : "MlmTsForMaskedLM"], arch.name);
    const own = config.mlm_ts as { bert: boolean; notBert: string[] };
    assert.equal(own.bert, isBert, arch.name);
    assert.equal(own.notBert.length > 0, !isBert, arch.name);
  }
  python(
    [
      "-c",
      "import onnx, sys\nfor p in sys.argv[1:]: onnx.checker.check_model(onnx.load(p), full_check=True)",
      ...modelPaths,
    ],
    ["onnx"],
  );

  // The files beside the model (the tutorial's architecture)
  const { out, runDir } = first!;
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.model_type, "bert");
  assert.equal(config.vocab_size, 100);
  assert.equal(config.num_hidden_layers, 2);
  const mlmTs = config.mlm_ts as { architecture: string; training: Record<string, unknown> };
  assert.match(mlmTs.architecture, /^post-norm encoder, ReLU feed-forward, .*sinusoidal positions/);
  assert.equal(mlmTs.training.dModel, 32);
  assert.ok(
    !("data" in mlmTs.training) && !("outDir" in mlmTs.training),
    "no local paths in a folder meant to be shared",
  );
  const tokConfig = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(tokConfig.mask_token, "[MASK]");
  assert.equal(tokConfig.model_max_length, 16);
  assert.equal(readFileSync(join(out, "tokenizer.json"), "utf8"), readFileSync(join(runDir, "tokenizer.json"), "utf8"));
});

test("the ONNX graph holds a tied embedding once, the learned positions as a weight, and GELU without Erf", () => {
  const cfg = modelConfigOf({
    vocabSize: 50,
    dModel: 16,
    numLayers: 1,
    numHeads: 2,
    dFF: 32,
    norm: "pre",
    activation: "gelu",
    tieOutput: true,
    positions: "learned",
  });
  const { specs, total } = paramLayout(cfg);
  const graph = mlmOnnxModel(cfg, tensorViews(specs, new Float32Array(total)), "test").graph;
  const names = graph.initializers.map((i) => i.name);
  for (const name of ["embed.weight", "embed.positions", "final.ln.scale", "head.out.bias"])
    assert.ok(names.includes(name), name);
  assert.equal(names.filter((n) => n === "embed.weight").length, 1);
  assert.ok(!names.includes("head.out.weight") && !names.some((n) => n.startsWith("positions.")));
  const ops = new Set(graph.nodes.map((n) => n.opType));
  assert.ok(ops.has("Tanh") && !ops.has("Erf") && !ops.has("Relu"));
});

test("a model option the exports do not support is refused, naming the key", () => {
  const cfg = modelConfigOf({ vocabSize: 50, dModel: 16, numLayers: 1, numHeads: 2, dFF: 32 });
  const { specs, total } = paramLayout(cfg);
  const tensors = tensorViews(specs, new Float32Array(total));
  for (const [key, value] of [
    ["norm", "sandwich"],
    ["activation", "swish"],
    ["positions", "rotary"],
  ] as const) {
    const odd = { ...cfg, [key]: value } as unknown as ModelConfig;
    assert.throws(
      () => mlmOnnxModel(odd, tensors, "test"),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^ONNX export: the model option "${key}" = "${value}" is not supported`));
        assert.ok(!err.message.includes("\n"));
        return true;
      },
    );
  }
});

test("the JavaScript-tokenizer refusal names continuing_subword_prefix only when a BPE has one", () => {
  const bpe = (prefix: string | null): string =>
    JSON.stringify({ model: { type: "BPE", continuing_subword_prefix: prefix, vocab: {}, merges: [] } });
  assert.match(
    javascriptTokenizerProblem(bpe("##")) ?? "",
    /continuing_subword_prefix "##".*--tokenizer-style end-of-word.*--any-tokenizer/,
  );
  assert.equal(javascriptTokenizerProblem(bpe(null)), null);
  assert.equal(javascriptTokenizerProblem(bpe("")), null);
});
