// The layering of src/, as the table of docs/architecture.md writes it: every import of every source
// file goes to its own layer or to one its row allows, the table lists each layer below those that
// may use it (so no cycle can be allowed), and Node's built-in modules appear only in the layers
// marked for them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");

interface Layer {
  name: string;
  /** The layers its files may import besides their own. */
  mayImport: Set<string>;
  nodeBuiltins: boolean;
}

/** The rows of the layer table of docs/architecture.md, bottom layer first. */
function readLayerTable(): Layer[] {
  const section = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
  const layers: Layer[] = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (name === undefined) continue; // header, rule, prose
    const [, , , allowed, builtins] = cells;
    assert.ok(builtins === "yes" || builtins === "no", `${name}: the last column says yes or no, got "${builtins}"`);
    const mayImport =
      allowed === "every layer above"
        ? new Set(layers.map((l) => l.name))
        : new Set([...allowed.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    layers.push({ name, mayImport, nodeBuiltins: builtins === "yes" });
  }
  return layers;
}

/** The layer of a path inside src/: its first folder, or the file's name without .ts / .js. */
function layerOf(pathInSrc: string): string {
  const first = pathInSrc.split(sep)[0];
  return first.replace(/\.(ts|js)$/, "");
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (spec: string): boolean => spec.startsWith("node:") || NODE_BUILTINS.has(spec.split("/")[0]);

/** What each file of src/ breaks of the table, as "file: what" lines. */
function violations(layers: Layer[]): string[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    const layer = byName.get(layerOf(from));
    if (layer === undefined) {
      problems.push(
        `${from}: its layer "${layerOf(from)}" has no row in the architecture table of docs/architecture.md`,
      );
      continue;
    }
    // The compiler's own scanner: comments and strings that merely mention a module are not imports.
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName: spec } of importedFiles) {
      if (spec.startsWith(".")) {
        const target = relative(SRC, resolve(dirname(file), spec));
        if (target.startsWith("..")) {
          problems.push(`${from}: imports ${spec}, outside src/`);
          continue;
        }
        const to = layerOf(target);
        if (to !== layer.name && !layer.mayImport.has(to))
          problems.push(`${from}: imports ${spec} (layer ${to}), which layer ${layer.name} may not import`);
      } else if (isNodeBuiltin(spec) && !layer.nodeBuiltins) {
        problems.push(`${from}: imports ${spec}; layer ${layer.name} reaches Node only through src/platform`);
      }
    }
  }
  return problems;
}

test("the layer table of docs/architecture.md lists each layer once, below every layer that may import it", () => {
  const layers = readLayerTable();
  assert.ok(layers.length >= 10, `${layers.length} layers read from the table`);
  const seen = new Set<string>();
  for (const layer of layers) {
    assert.ok(!seen.has(layer.name), `${layer.name} is listed twice`);
    for (const allowed of layer.mayImport)
      assert.ok(seen.has(allowed), `${layer.name} may import ${allowed}, which is not listed above it`);
    seen.add(layer.name);
  }
  for (const required of ["util", "platform", "run", "train", "pipelines"]) assert.ok(seen.has(required), required);
  assert.ok(!layers.find((l) => l.name === "pipelines")?.mayImport.has("train"), "pipelines may not import train");
});

test("every import in src/ follows the layer table of docs/architecture.md", () => {
  assert.deepEqual(violations(readLayerTable()), []);
});

test("the check catches a forbidden import, a Node built-in and an unknown folder", () => {
  // The same check against a table in which run may import nothing and train is missing.
  const layers = readLayerTable()
    .filter((l) => l.name !== "train")
    .map((l) => (l.name === "run" ? { ...l, mayImport: new Set<string>() } : l))
    .map((l) => (l.name === "data" ? { ...l, nodeBuiltins: false } : l));
  const problems = violations(layers);
  assert.ok(
    problems.some((p) => /^run[\\/]run-dir\.ts: imports \.\.\/tokenizer\/index\.js \(layer tokenizer\)/.test(p)),
    "run importing tokenizer is reported",
  );
  assert.ok(
    problems.some((p) => /^data[\\/]cache\.ts: imports node:crypto; layer data reaches Node only/.test(p)),
    "a Node built-in in a layer without them is reported",
  );
  assert.ok(
    problems.some((p) => /^train[\\/]trainer\.ts: its layer "train" has no row/.test(p)),
    "a folder without a row is reported",
  );
});
