// transformers.js 4.3 in headless Chromium (its browser bundle, onnxruntime-web's WebAssembly files
// served locally; models from a local folder, never the Hub) loads mlm-ts's ONNX exports with its
// default options: its wasm device would ask for 8-bit weights, and config.json's
// `"transformers.js_config": { "dtype": "fp32" }` makes it load onnx/model.onnx. Its fill-mask,
// text-classification and feature-extraction pipelines give mlm-ts's top-5 tokens and labels, and
// scores and embeddings within 1e-5, on a tutorial-architecture run, a fast-recipe run, a bert-recipe
// run and classifiers fine-tuned with the tutorial's head and with BERT's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLASSIFIERS, FILL_TEXTS, makeServingExports, MASKED_LMS, TEXTS } from "../interop/serving-exports.js";
import { tempDir } from "../temp-dir.js";
import { launchChromium } from "./chromium.js";
import { serveFolder } from "./static-server.js";

/** transformers.js's folder, and the onnxruntime-web build its browser bundle was made with (its own copy). */
const transformersRoot = fileURLToPath(new URL("../../../node_modules/@huggingface/transformers", import.meta.url));
const ORT_DIST = join(transformersRoot, "node_modules", "onnxruntime-web", "dist");

const exports = await makeServingExports();

/** The site: the page, transformers.js's bundle, the WebAssembly files under ort/, the models under models/. */
function site(): string {
  const root = tempDir("mlm-transformers-js-site-");
  for (const f of readdirSync(join(transformersRoot, "dist")))
    if (f === "transformers.js" || f.endsWith(".mjs")) copyFileSync(join(transformersRoot, "dist", f), join(root, f));
  mkdirSync(join(root, "ort"));
  for (const f of readdirSync(ORT_DIST))
    if (/^ort-wasm.*\.(wasm|mjs)$/.test(f)) copyFileSync(join(ORT_DIST, f), join(root, "ort", f));
  cpSync(exports.root, join(root, "models"), { recursive: true });
  writeFileSync(
    join(root, "index.html"),
    `<!doctype html><script type="module">
import { env, pipeline } from "./transformers.js";
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = "/models/";
env.backends.onnx.wasm.wasmPaths = "/ort/";
env.backends.onnx.wasm.numThreads = 1;
window.run = async (task, model, inputs, options) => {
  const p = await pipeline(task, model);
  const out = [];
  for (const input of inputs) {
    const r = await p(input, options);
    out.push(task === "feature-extraction" ? r.tolist() : r);
  }
  await p.dispose();
  return out;
};
window.ready = true;
</script>`,
  );
  return root;
}

const maxDiff = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i])), 0);

test("transformers.js in Chromium: fill-mask, text-classification and feature-extraction give mlm-ts's answers", async () => {
  const server = await serveFolder(site(), { isolated: false });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(server.url);
    await page.waitForFunction("window.ready === true || null", null, { timeout: 30_000 });
    type Run = (task: string, model: string, inputs: unknown[], options: unknown) => Promise<unknown[]>;
    const run = (task: string, model: string, inputs: unknown[], options: unknown): Promise<unknown[]> =>
      page.evaluate(([t, m, i, o]) => (globalThis as unknown as { run: Run }).run(t, m, i, o), [
        task,
        model,
        inputs,
        options,
      ] as const);
    for (const name of MASKED_LMS) {
      const got = (await run("fill-mask", name, FILL_TEXTS, { top_k: 5 })) as { token: number; score: number }[][];
      for (const [i, ours] of exports.expected[name].fill.entries()) {
        assert.deepEqual(
          got[i].map((p) => p.token),
          ours.map((p) => p.token),
          `${name} ${FILL_TEXTS[i]}`,
        );
        assert.ok(
          maxDiff(
            got[i].map((p) => p.score),
            ours.map((p) => p.score),
          ) < 1e-5,
        );
      }
    }
    for (const name of CLASSIFIERS) {
      const labels = exports.expected[name].labels;
      const got = (await run("text-classification", name, TEXTS, { top_k: labels[0].length })) as {
        label: string;
        score: number;
      }[][];
      for (const [i, ours] of labels.entries()) {
        assert.deepEqual(
          got[i].map((p) => p.label),
          ours.map((p) => p.label),
          `${name} ${TEXTS[i]}`,
        );
        assert.ok(
          maxDiff(
            got[i].map((p) => p.score),
            ours.map((p) => p.score),
          ) < 1e-5,
        );
      }
    }
    for (const name of [...MASKED_LMS, ...CLASSIFIERS]) {
      const vectors = (await run("feature-extraction", name, [TEXTS], { pooling: "mean" })) as number[][][];
      for (const [i, row] of exports.expected[name].embeddings.mean.entries())
        assert.ok(maxDiff(vectors[0][i], row) < 1e-5, `${name} ${i}`);
    }
    assert.deepEqual(errors, []);
    const origin = server.url.replace(/\/$/, "");
    assert.deepEqual(
      requested.filter((u) => !u.startsWith(origin)),
      [],
      "every file comes from the local server",
    );
    assert.ok(requested.some((u) => u.endsWith("/models/fast/onnx/model.onnx")));
    assert.ok(!requested.some((u) => u.includes("model_quantized")));
  } finally {
    await browser.close();
    await server.close();
  }
});
