// The studio's static files: a page's own files, and the data files its assets.json lists, which the
// npm package carries once (in data/) and the server reads from there when the page's copy is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebPages } from "../../src/studio/static-files.js";
import { tempDir } from "../temp-dir.js";

test("a page's asset missing beside it is served from the package's data/, and nothing else is", async () => {
  const root = realpathSync(tempDir("mlm-pages-"));
  const page = join(root, "dist", "web", "train");
  mkdirSync(page, { recursive: true });
  mkdirSync(join(root, "data"));
  writeFileSync(join(page, "index.html"), "<!doctype html>");
  writeFileSync(join(page, "assets.json"), JSON.stringify(["data/corpus.txt"]));
  writeFileSync(join(root, "data", "corpus.txt"), "a sentence\n");
  writeFileSync(join(root, "data", "other.txt"), "not listed\n");
  const pages = new WebPages(join(root, "dist", "web"));

  assert.equal(await pages.resolve("/train/"), join(page, "index.html"));
  assert.equal(await pages.resolve("/train/corpus.txt"), join(root, "data", "corpus.txt"));
  assert.equal(await pages.resolve("/train/other.txt"), null, "only listed assets come from data/");
  assert.equal(await pages.resolve("/train/..%2F..%2F..%2Fdata%2Fother.txt"), null);
  // The page's own copy, when the build wrote one (a clone's dist/), comes first.
  writeFileSync(join(page, "corpus.txt"), "the copy\n");
  assert.equal(await pages.resolve("/train/corpus.txt"), join(page, "corpus.txt"));
});
