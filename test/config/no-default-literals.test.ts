// The configuration table is the only place a default is written: code elsewhere that falls back to a
// default (`options.seed ?? 42`, `function f(maxLen = 128)`, `{ maxLen = 128 } = options`, or an object
// of defaults such as `{ vocabSize: 25000 }`) must read it from the table instead. This test parses
// every file of src/ and reports such fallbacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { CONFIG_TABLE, DEFAULT_CONFIG } from "../../src/config/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SRC = join(ROOT, "src");
/** The table itself, where the defaults are written. */
const TABLE_FILE = "src/config/table.ts";

/** Names that hold a configuration key's value under another name (option objects of lower layers). */
const ALIASES: Record<string, keyof typeof CONFIG_TABLE> = {
  probability: "maskProb", // data/masking.ts
  eps: "adamEps", // train/optimizer.ts
  maxGradNorm: "gradClip", // train/optimizer.ts
  maxLength: "maxLen", // tokenizer/options.ts (truncation)
};

/**
 * Fallbacks whose literal equals a default by coincidence: file, name, and why it is another setting.
 * Each entry must still be found, so that the list stays true.
 */
const UNRELATED: { file: string; name: string; why: string }[] = [
  { file: "src/engine/wasm/heap.ts", name: "initialPages", why: "64 pages of 64 KiB of wasm memory, not a batch size" },
  { file: "src/pipelines/load-model.ts", name: "maxBatch", why: "8 sentences per inference batch, not the heads" },
  { file: "src/util/progress.ts", name: "logEverySeconds", why: "10 s between plain progress lines, not saveMinutes" },
];

type Literal = number | string | boolean;

interface Fallback {
  file: string;
  line: number;
  name: string;
  value: Literal;
  kind: "??" | "parameter default" | "destructuring default" | "property";
}

function literalValue(node: ts.Expression): Literal | undefined {
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (
    ts.isPrefixUnaryExpression(node) &&
    node.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(node.operand)
  )
    return -Number(node.operand.text);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  return undefined;
}

/** The name a fallback is for: `x`, `options.x`, `this.x`, `{ x = 1 }`, `x: 1`. */
function nameOf(node: ts.Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isIdentifier(node) || ts.isStringLiteral(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isParenthesizedExpression(node)) return nameOf(node.expression);
  return undefined;
}

function fallbacksOf(file: string, text: string): Fallback[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: Fallback[] = [];
  const add = (node: ts.Node, nameNode: ts.Node | undefined, init: ts.Expression, kind: Fallback["kind"]): void => {
    const name = nameOf(nameNode);
    const value = literalValue(init);
    if (name === undefined || value === undefined) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    out.push({ file, line, name, value, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
      add(node, node.left, node.right, "??");
    else if (ts.isParameter(node) && node.initializer) add(node, node.name, node.initializer, "parameter default");
    else if (ts.isBindingElement(node) && node.initializer)
      add(node, node.propertyName ?? node.name, node.initializer, "destructuring default");
    else if (ts.isPropertyAssignment(node)) add(node, node.name, node.initializer, "property");
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The numeric defaults specific enough to recognise without a name (0 and 1 are everywhere). */
const DISTINCTIVE = new Set(Object.values(DEFAULT_CONFIG).filter((v) => typeof v === "number" && v !== 0 && v !== 1));

/** Why a fallback repeats a default, or null when it does not. */
function repeatedDefault(f: Fallback): string | null {
  const key = Object.hasOwn(CONFIG_TABLE, f.name) ? (f.name as keyof typeof CONFIG_TABLE) : ALIASES[f.name];
  // An object property is a setting, not a fallback, unless its value is specific (not 0, 1, true, false, "").
  const specific =
    typeof f.value === "string" ? f.value !== "" : typeof f.value === "number" && DISTINCTIVE.has(f.value);
  if (key !== undefined && DEFAULT_CONFIG[key] === f.value && (f.kind !== "property" || specific))
    return `the default of ${key}`;
  if (f.kind !== "property" && typeof f.value === "number" && DISTINCTIVE.has(f.value)) {
    const keys = Object.keys(DEFAULT_CONFIG).filter(
      (k) => DEFAULT_CONFIG[k as keyof typeof DEFAULT_CONFIG] === f.value,
    );
    return `the default of ${keys.join(" / ")}`;
  }
  return null;
}

function findRepeatedDefaults(): { found: string[]; unrelatedSeen: Set<string> } {
  const found: string[] = [];
  const unrelatedSeen = new Set<string>();
  for (const path of sourceFiles(SRC)) {
    const file = relative(ROOT, path).split("\\").join("/");
    if (file === TABLE_FILE) continue;
    for (const f of fallbacksOf(file, readFileSync(path, "utf8"))) {
      const why = repeatedDefault(f);
      if (why === null) continue;
      const unrelated = UNRELATED.find((u) => u.file === f.file && u.name === f.name);
      if (unrelated) unrelatedSeen.add(`${unrelated.file}:${unrelated.name}`);
      else found.push(`${f.file}:${f.line}: ${f.kind} ${f.name} = ${JSON.stringify(f.value)} repeats ${why}`);
    }
  }
  return { found, unrelatedSeen };
}

test("no file of src/ but the table repeats a configuration default as a fallback", () => {
  const { found, unrelatedSeen } = findRepeatedDefaults();
  assert.deepEqual(found, [], `read these from DEFAULT_CONFIG instead:\n${found.join("\n")}`);
  for (const u of UNRELATED) assert.ok(unrelatedSeen.has(`${u.file}:${u.name}`), `stale exception ${u.file} ${u.name}`);
});

test("the scan recognises each form of fallback it forbids", () => {
  const sample = [
    "const a = options.seed ?? 42;", // a distinctive value, whatever the name
    "const b = options.maxLen ?? 128;",
    "function f(maskProb = 0.15) {}",
    "const { shuffle = false } = options;", // a key's own default, even 0/1/false
    "const c = opts.maxGradNorm ?? 1;", // through an alias
    "const TUTORIAL = { vocabSize: 25000 };", // an object of defaults
    "const d = options.topK ?? 5;", // not a default of the table: allowed
    "const e = { shuffle: false };", // a setting, not a default: allowed
    "const g = count ?? 0;", // 0 under another name: allowed
  ].join("\n");
  const flagged = fallbacksOf("sample.ts", sample)
    .filter((f) => repeatedDefault(f) !== null)
    .map((f) => f.line);
  assert.deepEqual(flagged, [1, 2, 3, 4, 5, 6]);
});
