// transformers.js 4.3 (npm, in Node: onnxruntime-node) loads mlm-ts's ONNX exports as they are, with
// its default options, from a local folder (never the Hub): its fill-mask, text-classification and
// feature-extraction pipelines give mlm-ts's top-5 tokens and labels, and scores and embeddings
// within 1e-5, on a tutorial-architecture run, a fast-recipe run, a bert-recipe run and classifiers
// fine-tuned from the fast run (the tutorial's head) and from the bert run (BERT's head). Inputs
// past the model's 16 tokens are truncated to 16 (model_max_length). Raw ONNX Runtime (Node) on a
// 300-token input fails with an error naming max_position_embeddings (the Gather node's name), not a
// broadcast failure, and gives mlm-ts's outputs up to the limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { env, pipeline } from "@huggingface/transformers";
import { ONNX_EXPORT_FILES } from "../../src/interop/index.js";
import { loadModel } from "../../src/pipelines/index.js";
import { logitsError } from "./tiny-interop-run.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import {
  CLASSIFIERS,
  FILL_TEXTS,
  LONG_TEXT,
  makeServingExports,
  MASKED_LMS,
  TEXTS,
  type ServingExports,
} from "./serving-exports.js";

// At the top level: the temporary folders then last until the end of the file.
const exports: ServingExports = await makeServingExports();
env.allowRemoteModels = false;
env.localModelPath = exports.root + "/";

const TOLERANCE = 1e-5;

/** The largest |a - b| over two equally long lists. */
function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i])), 0);
}

for (const name of MASKED_LMS) {
  test(`fill-mask (${name}): transformers.js gives mlm-ts's top-5 tokens, scores within 1e-5`, async () => {
    const fill = await pipeline("fill-mask", name);
    try {
      for (const [i, text] of FILL_TEXTS.entries()) {
        const ours = exports.expected[name].fill[i];
        const theirs = (await fill(text, { top_k: 5 })) as { token: number; token_str: string; score: number }[];
        assert.deepEqual(
          theirs.map((p) => p.token),
          ours.map((p) => p.token),
          text,
        );
        assert.ok(
          maxDiff(
            theirs.map((p) => p.score),
            ours.map((p) => p.score),
          ) < TOLERANCE,
          text,
        );
      }
    } finally {
      await fill.dispose();
    }
  });
}

for (const name of CLASSIFIERS) {
  test(`text-classification (${name}): transformers.js gives the classifier's labels in mlm-ts's order, scores within 1e-5`, async () => {
    const classify = await pipeline("text-classification", name);
    try {
      for (const [i, text] of TEXTS.entries()) {
        const ours = exports.expected[name].labels[i];
        const theirs = (await classify(text, { top_k: ours.length })) as { label: string; score: number }[];
        assert.deepEqual(
          theirs.map((p) => p.label),
          ours.map((p) => p.label),
        );
        assert.ok(
          maxDiff(
            theirs.map((p) => p.score),
            ours.map((p) => p.score),
          ) < TOLERANCE,
          text,
        );
      }
    } finally {
      await classify.dispose();
    }
  });
}

for (const name of [...MASKED_LMS, ...CLASSIFIERS]) {
  test(`feature-extraction (${name}): transformers.js's mean and [CLS] embeddings equal mlm embed's within 1e-5`, async () => {
    const extract = await pipeline("feature-extraction", name);
    try {
      for (const pooling of ["mean", "cls"] as const) {
        const theirs = (await extract(TEXTS, { pooling })).tolist() as number[][];
        const ours = exports.expected[name].embeddings[pooling];
        for (const [i, row] of ours.entries()) assert.ok(maxDiff(theirs[i], row) < TOLERANCE, `${pooling} ${i}`);
      }
    } finally {
      await extract.dispose();
    }
  });
}

test("config.json: model_type bert for every export (its pipelines need it); BERT's class names only for BERT's models", () => {
  const expected: Record<string, string> = {
    tutorial: "MlmTsForMaskedLM",
    fast: "MlmTsForMaskedLM",
    bert: "BertForMaskedLM",
    classifier: "MlmTsForSequenceClassification",
    "bert-classifier": "BertForSequenceClassification",
  };
  for (const name of [...MASKED_LMS, ...CLASSIFIERS]) {
    const config = JSON.parse(readFileSync(join(exports.root, name, "config.json"), "utf8"));
    assert.equal(config.model_type, "bert", name);
    assert.deepEqual(config.architectures, [expected[name]], name);
    assert.equal(config.mlm_ts.bert, expected[name].startsWith("Bert"), name);
  }
});

for (const name of ["fast", "bert"] as const) {
  test(`raw ONNX Runtime (${name}) on a 300-token input: an error naming max_position_embeddings; up to 16 tokens, mlm-ts's outputs`, async () => {
    const folder = join(exports.root, name);
    // log level fatal: the error is asserted, not printed
    const session = await ort.InferenceSession.create(join(folder, ONNX_EXPORT_FILES.model), { logSeverityLevel: 4 });
    const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
    const tokenizerConfig = JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
    assert.equal(config.max_position_embeddings, 16);
    assert.equal(tokenizerConfig.model_max_length, 16);
    const ids = BigInt64Array.from({ length: 300 }, (_, i) => BigInt(5 + (i % 7)));
    const feeds = (L: number): Record<string, ort.Tensor> => ({
      input_ids: new ort.Tensor("int64", ids.slice(0, L), [1, L]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(L).fill(1n), [1, L]),
    });
    try {
      await assert.rejects(session.run(feeds(300)), (err: Error) => {
        assert.equal(
          err.message,
          "Non-zero status code returned while running Gather node. Name:'input longer than max_position_embeddings=16 tokens: truncate it' " +
            "Status Message: indices element out of data bounds, idx=16 must be within the inclusive range [-16,15]",
        );
        return true;
      });
      await assert.rejects(session.run(feeds(17)), /input longer than max_position_embeddings=16 tokens/);
      const full = await session.run(feeds(16));
      assert.deepEqual(full.last_hidden_state.dims, [1, 16, config.hidden_size]);
      const loaded = await loadModel(exports.runs[name]);
      try {
        const { error } = logitsError(
          loaded.model,
          { encoded: [Array.from(ids.slice(0, 16), Number)], L: 16, ids: new Int32Array(), mask: new Int32Array() },
          full.logits.data as Float32Array,
          config.vocab_size,
        );
        assert.ok(error <= 1e-4, `${name}: ONNX logits at 16 tokens differ from mlm-ts's by ${error} of their range`);
      } finally {
        loaded.dispose();
      }
    } finally {
      await session.release();
    }
  });
}

test("a text past the model's length: transformers.js feeds its first 16 tokens (model_max_length), mlm-ts [CLS] 14 [SEP]", async () => {
  const extract = await pipeline("feature-extraction", "fast");
  try {
    const hidden = await extract(LONG_TEXT);
    assert.deepEqual(hidden.dims, [1, 16, exports.expected.fast.embeddings.mean[0].length]);
    const ids = Array.from(extract.tokenizer(LONG_TEXT, { truncation: true }).input_ids.data as BigInt64Array, Number);
    const loaded = await loadModel(exports.runs.fast);
    try {
      const full = Tokenizer.fromJSON(JSON.parse(loaded.tokenizer.toString()), "tokenizer.json");
      full.setTruncation(null);
      const all = Array.from(full.encodeIds(LONG_TEXT));
      assert.deepEqual(ids, all.slice(0, 16));
      const ours = Array.from(loaded.tokenizer.encodeIds(LONG_TEXT));
      assert.deepEqual(ours, [...all.slice(0, 15), all.at(-1)]);
    } finally {
      loaded.dispose();
    }
  } finally {
    await extract.dispose();
  }
});
