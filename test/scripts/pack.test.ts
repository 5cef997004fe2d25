// What `npm pack` puts in the package: the built library, command, pages and data a user needs, each
// file once, and no source maps (they point at TypeScript sources the package does not carry).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

interface Packed {
  files: { path: string; size: number }[];
}

test("the npm package carries the library, the command, the pages and the data, each once, without source maps", () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const json = execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" });
  const [packed] = JSON.parse(json) as Packed[];
  const paths = packed.files.map((f) => f.path);
  for (const needed of [
    "bin/mlm.js",
    "dist/src/index.js",
    "dist/src/cli/main.js",
    "dist/browser/mlm-ts.js",
    "dist/web/train/index.html",
    "dist/web/train/assets.json",
    "data/tatoeba-en.txt",
    "src/interop/python/mlm_torch.py",
    "README.md",
  ])
    assert.ok(paths.includes(needed), `the package lacks ${needed}`);
  assert.deepEqual(
    paths.filter((p) => p.endsWith(".map")),
    [],
  );
  assert.ok(!paths.some((p) => p.startsWith("dist/test/") || p.startsWith("dist/bench/")));
  // Nothing twice: no two large files of the same name and size.
  const seen = new Map<string, string>();
  for (const file of packed.files.filter((f) => f.size > 64 * 1024)) {
    const key = `${file.path.split("/").pop()} ${file.size}`;
    assert.ok(!seen.has(key), `${file.path} repeats ${seen.get(key)}`);
    seen.set(key, file.path);
  }
});
