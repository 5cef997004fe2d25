// The browser build: the ES module "mlm-ts/browser" (dist/browser/mlm-ts.js) loads in Chromium with no
// other file and works there (a tokenizer trained, a corpus read from text, the platform's answer about
// threads), and Node's built-in modules are imported on the browser path only by the modules listed
// below, for Node-only functions the browser path never calls (the page trains end to end in
// train-in-browser.test.ts, where any such call would throw).
import { strict as assert } from "node:assert";
import { readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { launchChromium } from "./chromium.js";
import { serveFolder } from "./static-server.js";
// @ts-expect-error: a JavaScript build script without type declarations
import { builtKernels, nodeBuiltinsUnavailable } from "../../../scripts/browser-bundle.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The modules of the browser path that still import Node's built-ins, each for functions reached only
 * on Node: reading and writing files by path (a config file, the token cache, a corpus file, a
 * tokenizer.json, a labelled data file), streaming a large corpus into the on-disk token store (corpus-bytes, corpus-files,
 * corpus-fingerprint, stream-prepare, token-store: a tab holds its corpus in memory) and the Node
 * platform itself (the default until setPlatform).
 */
const NODE_IMPORTERS = [
  "src/config/file.ts",
  "src/data/cache.ts",
  "src/data/corpus-bytes.ts",
  "src/data/corpus-files.ts",
  "src/data/corpus-fingerprint.ts",
  "src/data/corpus.ts",
  "src/data/download.ts",
  "src/data/glue-sst2.ts",
  "src/data/labelled.ts",
  "src/data/paths.ts",
  "src/data/stream-prepare.ts",
  "src/data/token-store.ts",
  "src/platform/node.ts",
  "src/tokenizer/tokenizer.ts",
  "src/tokenizer/word-counts.ts",
  "src/util/atomic-write.ts",
  "src/util/file-fingerprint.ts",
  "src/util/lines.ts",
];

test("the browser path imports Node's built-ins only from the known Node-only modules", async () => {
  const importers: string[] = [];
  await build({
    entryPoints: ["src/browser.ts", "web/train/main.ts", "web/train/worker.ts"].map((p) => join(ROOT, p)),
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    outdir: "unused",
    logLevel: "error",
    plugins: [nodeBuiltinsUnavailable(importers), builtKernels()],
  });
  const modules = [...new Set(importers.map((line) => relative(ROOT, line.split(" -> ")[0])))].sort();
  assert.deepEqual(modules, NODE_IMPORTERS);
});

test("dist/browser/mlm-ts.js runs in Chromium on its own", async () => {
  const bundle = join(ROOT, "dist", "browser", "mlm-ts.js");
  const size = statSync(bundle).size;
  assert.ok(size < 2 * 1024 * 1024, `the browser build is ${size} bytes`);
  assert.doesNotMatch(readFileSync(bundle, "utf8"), /from\s*"node:/);
  const server = await serveFolder(join(ROOT, "dist", "browser"), { isolated: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}mlm-ts.js`); // same origin as the module
    const result = await page.evaluate(`(async () => {
      const mlm = await import("./mlm-ts.js");
      mlm.setPlatform(mlm.browserPlatform());
      const corpus = mlm.textCorpus("t.txt", "\\uFEFFthe cat sat\\r\\n\\nthe dog sat\\nthe cat sat\\n");
      const tok = mlm.trainBpeFromSentences(corpus.sentences, { vocabSize: 40, minFrequency: 1 });
      await mlm.opfsStorage.writeAtomic("runs/t/a.txt", "x");
      return {
        sentences: corpus.sentences,
        ids: tok.encode("the cat").ids.length,
        threads: mlm.threadSupport(),
        files: (await mlm.readRunFiles("runs/t")).map((f) => f.path),
      };
    })()`);
    const { threads, ...rest } = result as { threads: { threads: number; reason: string | null } };
    assert.deepEqual(rest, { sentences: ["the cat sat", "the dog sat"], ids: 4, files: ["a.txt"] });
    // Served with COOP/COEP: every core, no reason given.
    assert.equal(threads.reason, null);
    assert.ok(threads.threads >= 1);
  } finally {
    await browser.close();
    await server.close();
  }
});
