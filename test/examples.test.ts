// The documentation's examples type-check: every `@example` block of src/**/*.ts and every ```ts or
// ```js block of the README and of docs/ becomes a small TypeScript module, and the TypeScript compiler checks them
// all in one program against the sources. A doc example that no longer compiles (a renamed function,
// a changed option, a wrong return type) fails here.
//
// A src block is written as its reader sees it: the names it uses come from its own file or from the
// package's public entry points ("mlm-ts", "mlm-ts/config", ...; the exports of package.json, mapped
// to src/ with `paths`), and the test imports them. Values a block takes as given (a tokenizer, a
// loaded model, a split) are declared in PREAMBLE, typed. README blocks are whole scripts: nothing is
// added to them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { jsdocExamples, readmeCodeBlocks } from "./doc-examples.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/** Where the generated modules live for the compiler (nothing is written there). */
// At the root, where a user saves a script of the docs: "./src/..." and "mlm-ts" resolve as for them.
const VIRTUAL_DIR = ROOT;

/**
 * What a block assumes, by "file #n" (its n-th example, 1-based): declarations put before it, of the
 * values the example is about using rather than making. The types named here may come from any file
 * of src/ (an internal module's example may assume its internal neighbours).
 */
const PREAMBLE: Record<string, string> = {
  "src/cli/interrupts.ts #1": "declare const loaded: LoadedModel, path: string;",
  "src/engine/webgpu/optimizer-step.ts #1":
    "declare const gpu: WebGpuBackend, model: MlmModel, adam: Adam, batch: Batch, dropoutRng: Rng;",
  "src/run/checkpoint.ts #2": "declare const model: MlmModel, ckpt: { tensors: NamedTensor[] };",
  "src/run/inputs.ts #1": "declare const corpus: FileFingerprint | null, tokenizer: FileFingerprint;",
  "src/tokenizer/bpe-trainer.ts #2":
    "declare const counts: Map<string, number>, opts: Parameters<typeof learnBpeSteps>[1], signal: AbortSignal;",
  "src/train/health.ts #1": "declare const step: number, loss: number, model: MlmModel;",
  "src/train/open-run.ts #1": "declare const config: TrainConfig;",
  "src/train/train-state.ts #1": "declare const text: string;",
  "src/train/time-budget.ts #2": "declare const clock: () => number;",
  "src/train/time-budget.ts #3": "declare const budget: TimeBudget, step: number, total: number;",
  "src/train/checkpoints.ts #1":
    "declare const config: TrainConfig, run: RunDirectory, task: TrainingTask<Batch, EvalMetrics>, adam: Adam, " +
    "resumed: boolean, state: TrainState, snapshot: (s: TrainState) => TrainState;",
  "src/train/loop.ts #1":
    "declare const config: TrainConfig, run: RunDirectory, task: TrainingTask<Batch, EvalMetrics>, adam: Adam, " +
    "start: LoopStart<EvalMetrics>, totalSteps: number, outputs: RunOutputs;",
  "src/train/mlm-task.ts #1": "declare const config: TrainConfig, run: RunDirectory, log: (line: string) => void;",
  "src/train/outputs.ts #1":
    "declare const run: RunDirectory, step: number, log: (line: string) => void, warn: (line: string) => void;",
  "src/train/task.ts #1":
    "declare const config: TrainConfig, run: RunDirectory, log: (line: string) => void, dropoutRng: Rng;",
  "src/util/cooperative.ts #1": "declare const signal: AbortSignal;",
  "src/util/cooperative.ts #2":
    "declare const signal: AbortSignal, lines: AsyncIterable<string>, count: (line: string) => void;",
  "src/cli/flags.ts #1": "declare const RUNS_FLAGS: FieldTable;",
  "src/interop/npy-shards.ts #1": "declare const out: DirectoryWriter, split: TokenSource;",
  "src/interop/torch-data.ts #1":
    'declare function readExportSource(dir: string, prefer: "best" | "latest"): Promise<ExportSource>;',
  "src/config/flags.ts #1":
    'const TABLE = { steps: { kind: "int", default: 10, min: 1, help: "steps to run" } } as const satisfies FieldTable;',
  "src/data/cache.ts #1": "declare const train: string[], tokenizer: Tokenizer;",
  "src/data/collate.ts #1": "declare const split: TokenizedSplit, order: Int32Array, masking: Masking, rng: Rng;",
  "src/data/loader.ts #1": "declare const split: TokenizedSplit, checkpoint: { data: LoaderPosition };",
  "src/data/split.ts #1": "declare const sentences: string[];",
  "src/model/evaluate.ts #1": "declare const validLoader: FixedBatches;",
  "src/train/gpu-step.ts #1":
    "declare const task: { backend: Backend; model: TrainableModel }, step: number, count: number, adam: Adam;",
  "src/data/corpus.ts #2": "declare const stats: CorpusStats, lines: string[], sentences: string[];",
  "src/data/token-source.ts #1": "declare const split: TokenSource;",
  "src/data/token-source.ts #2": "declare const data: PreparedData;",
  "src/data/token-store.ts #1": "declare const key: string, tokenizer: Tokenizer;",
  "src/util/file-fingerprint.ts #2": "declare const info: { size: number; mtimeMs: number }, sha256: string;",
  "src/util/lines.ts #1": "declare const blocks: AsyncIterable<Uint8Array>;",
  "src/data/labelled-batches.ts #1": "declare const tokenizer: Tokenizer, file: LabelledFile, id2label: string[];",
  "src/data/labelled-batches.ts #2": "declare const split: LabelledSplit;",
  "src/model/baseline.ts #1":
    "declare const trainTexts: string[], trainIds: Int32Array, validTexts: string[], validIds: Int32Array;",
  "src/model/logistic-regression.ts #1": "declare const X: SparseRows, labels: Int32Array, Xvalid: SparseRows;",
  "src/model/tfidf.ts #1": "declare const trainTexts: string[], validTexts: string[];",
  "src/engine/gemm.ts #1":
    "declare const T: number, K: number, N: number, " +
    "out: Float32Array, inp: Float32Array, w: Float32Array, dinp: Float32Array, dout: Float32Array, dw: Float32Array;",
  "src/engine/wasm/job-args.ts #1":
    "declare const heap: SharedHeap, pool: ThreadPool, offset: number, n: number, nth: number;",
  "src/model/build.ts #1":
    "declare const trainLoader: MlmDataLoader, validLoader: MlmDataLoader, seed: number, dropoutRng: Rng;",
  "src/pipelines/fill-mask.ts #2": "declare const loaded: LoadedModel;",
  "src/run/atomic-directory.ts #1": "declare const config: TrainConfig, tensors: NamedTensor[];",
  "src/run/checkpoint.ts #1":
    "declare const model: MlmModel, tokenizer: Tokenizer, n: number, m: Float32Array, v: Float32Array;",
  "src/run/run-dir.ts #1":
    "declare const config: TrainConfig, modelConfig: ModelConfig, tensors: NamedTensor[], tokenizerJson: string, " +
    "state: object, optimizer: NamedTensor[];",
  "src/run/safetensors.ts #1": "declare const storage: Storage;",
  "src/tokenizer/bpe-model.ts #1": "declare const model: BpeModel;",
  "src/tokenizer/bpe-trainer.ts #1": "declare const opts: MergeLoopOptions;",
  "src/tokenizer/tokenizer.ts #2": "declare const tok: Tokenizer;",
  "src/track/tensorboard.ts #2": "declare const writer: SummaryWriter;",
  "src/train/optimizer.ts #1": "declare const backend: Backend, model: MlmModel, batch: Batch, dropoutRng: Rng;",
  "src/util/atomic-write.ts #1": "declare const tokenizer: Tokenizer, chunks: AsyncIterable<Uint8Array>;",
  "src/util/atomic-write.ts #2": "declare const tensors: NamedTensor[];",
  "src/util/atomic-write.ts #3": "declare const bytes: Uint8Array;",
  "src/util/progress.ts #1": "declare const sentences: string[];",
};

/** Blocks that cannot be type-checked, by key, and why (none today; keep it rare). */
const UNCHECKED: Record<string, string> = {};

interface Example {
  /** "src/data/collate.ts #1" or "README.md #2". */
  key: string;
  /** Repository-relative file and 1-based line where the block starts. */
  file: string;
  line: number;
  code: string;
  /** The source file whose exports the block may use unqualified; null for README blocks. */
  ownFile: string | null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function allExamples(): Example[] {
  const examples: Example[] = [];
  for (const path of sourceFiles(join(ROOT, "src")).sort()) {
    const file = relative(ROOT, path);
    for (const [i, block] of jsdocExamples(readFileSync(path, "utf8")).entries())
      examples.push({ key: `${file} #${i + 1}`, file, line: block.line, code: block.code, ownFile: path });
  }
  const docs = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  for (const file of docs)
    for (const [i, block] of readmeCodeBlocks(readFileSync(join(ROOT, file), "utf8")).entries())
      examples.push({ key: `${file} #${i + 1}`, file, line: block.line, code: block.code, ownFile: null });
  return examples;
}

/** The package's public entry points: specifier ("mlm-ts/config") to source file (src/config/index.ts). */
function entryPoints(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, string | { types: string }>;
  };
  const entries = new Map<string, string>();
  for (const [subpath, exported] of Object.entries(pkg.exports)) {
    // A conditional export ("./browser": a bundle) is checked against the sources its types come from.
    const target = typeof exported === "string" ? exported : String(exported.types).replace(/\.d\.ts$/, ".js");
    assert.match(target, /^\.\/dist\/src\/.*\.js$/, `package.json exports ${subpath}`);
    const specifier = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    const source = target.replace(/^\.\/dist\/(.*)\.js$/, "$1.ts");
    entries.set(specifier, join(ROOT, source));
  }
  return entries;
}

const parse = (path: string, text: string): ts.SourceFile =>
  ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);

/**
 * The names a module exports by name, from its syntax (`export * as ns` is left out: namespaces such
 * as `tokenizer` or `model` would capture a block's free variables of the same name).
 */
function exportedNames(path: string): Set<string> {
  const names = new Set<string>();
  const source = parse(path, readFileSync(path, "utf8"));
  for (const s of source.statements) {
    if (ts.isExportDeclaration(s) && s.exportClause !== undefined && ts.isNamedExports(s.exportClause)) {
      for (const e of s.exportClause.elements) names.add(e.name.text);
    } else if (ts.isExportDeclaration(s) && s.exportClause === undefined && s.moduleSpecifier !== undefined) {
      const target = (s.moduleSpecifier as ts.StringLiteral).text.replace(/\.js$/, ".ts");
      for (const n of exportedNames(join(dirname(path), target))) names.add(n);
    } else if (ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      if (ts.isVariableStatement(s)) {
        for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
      } else if (
        (ts.isFunctionDeclaration(s) ||
          ts.isClassDeclaration(s) ||
          ts.isInterfaceDeclaration(s) ||
          ts.isTypeAliasDeclaration(s) ||
          ts.isEnumDeclaration(s)) &&
        s.name !== undefined
      ) {
        names.add(s.name.text);
      }
    }
  }
  return names;
}

/** Nodes whose `name` declares that name. */
const declares = (p: ts.Node): p is ts.NamedDeclaration =>
  ts.isVariableDeclaration(p) ||
  ts.isParameter(p) ||
  ts.isBindingElement(p) ||
  ts.isFunctionDeclaration(p) ||
  ts.isClassDeclaration(p) ||
  ts.isInterfaceDeclaration(p) ||
  ts.isTypeAliasDeclaration(p) ||
  ts.isEnumDeclaration(p) ||
  ts.isImportSpecifier(p) ||
  ts.isImportClause(p) ||
  ts.isNamespaceImport(p);

/** Nodes whose `name` is a member name, not a reference. */
const names = (p: ts.Node): p is ts.NamedDeclaration =>
  ts.isPropertyAccessExpression(p) ||
  ts.isPropertyAssignment(p) ||
  ts.isPropertySignature(p) ||
  ts.isPropertyDeclaration(p) ||
  ts.isMethodDeclaration(p) ||
  ts.isMethodSignature(p);

/** Identifiers a piece of code declares anywhere in it, and those it refers to. */
function identifiers(code: string): { declared: Set<string>; used: Set<string> } {
  const declared = new Set<string>();
  const used = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const p = node.parent;
      if (declares(p) && p.name === node) declared.add(node.text);
      else if (
        !(names(p) && p.name === node) &&
        !(ts.isQualifiedName(p) && p.right === node) &&
        !((ts.isBindingElement(p) || ts.isImportSpecifier(p)) && p.propertyName === node)
      )
        used.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse("block.ts", code));
  return { declared, used };
}

/** A block as a module: imports of the names it uses, its preamble, then the block itself. */
function moduleText(
  example: Example,
  entries: Map<string, string>,
  allSources: string[],
  exportsOf: (path: string) => Set<string>,
): {
  text: string;
  header: number;
} {
  const preamble = PREAMBLE[example.key] ?? "";
  const header: string[] = [];
  if (example.ownFile !== null) {
    const both = identifiers(`${preamble}\n${example.code}`);
    const inBlock = identifiers(example.code).used;
    const wanted = [...both.used].filter((n) => !both.declared.has(n)).sort();
    const specifierOf = (path: string): string => `./${relative(VIRTUAL_DIR, path).replace(/\.ts$/, ".js")}`;
    const visible: [string, string][] = [
      [example.ownFile, specifierOf(example.ownFile)],
      ...[...entries].map(([specifier, path]): [string, string] => [path, specifier]),
    ];
    const anywhere = allSources.map((path): [string, string] => [path, specifierOf(path)]);
    const imports = new Map<string, string[]>();
    for (const name of wanted) {
      const from = [...visible, ...(inBlock.has(name) ? [] : anywhere)].find(([path]) => exportsOf(path).has(name));
      if (from !== undefined) imports.set(from[1], [...(imports.get(from[1]) ?? []), name]);
    }
    for (const [specifier, list] of imports) header.push(`import { ${list.join(", ")} } from "${specifier}";`);
    if (preamble !== "") header.push(preamble);
  }
  return { text: `${header.join("\n")}\n${example.code}\nexport {};\n`, header: header.length + 1 };
}

/** Compiles the modules in one program; their diagnostics, as "file:line: message" lines, by module. */
function typeCheck(modules: Map<string, string>, entries: Map<string, string>): Map<string, ts.Diagnostic[]> {
  const configPath = join(ROOT, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configPath);
  const paths: Record<string, string[]> = {};
  for (const [specifier, path] of entries) paths[specifier] = [path];
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, paths };
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => {
    const text = modules.get(name);
    return text === undefined
      ? getSourceFile(name, languageVersion, ...rest)
      : ts.createSourceFile(name, text, languageVersion, true);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => modules.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => modules.get(name) ?? readFile(name);
  const program = ts.createProgram({ rootNames: [...modules.keys()], options, host });
  assert.deepEqual(
    program.getOptionsDiagnostics().map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    [],
  );
  const result = new Map<string, ts.Diagnostic[]>();
  for (const name of modules.keys()) {
    const source = program.getSourceFile(name);
    assert.ok(source !== undefined, name);
    result.set(name, [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]);
  }
  return result;
}

const virtualPath = (key: string): string => join(VIRTUAL_DIR, `doc-example-${key.replace(/[^\w]+/g, "_")}.ts`);

test("every @example block of src/ and every ts/js block of the README and docs/ type-checks", () => {
  const examples = allExamples();
  const keys = new Set(examples.map((e) => e.key));
  for (const key of [...Object.keys(PREAMBLE), ...Object.keys(UNCHECKED)])
    assert.ok(keys.has(key), `PREAMBLE or UNCHECKED names ${key}, which is no example`);
  const entries = entryPoints();
  const allSources = sourceFiles(join(ROOT, "src")).sort();
  const exportCache = new Map<string, Set<string>>();
  const exportsOf = (path: string): Set<string> => {
    let names = exportCache.get(path);
    if (names === undefined) exportCache.set(path, (names = exportedNames(path)));
    return names;
  };
  const modules = new Map<string, string>();
  const byPath = new Map<string, { example: Example; header: number }>();
  for (const example of examples) {
    if (example.key in UNCHECKED) continue;
    const { text, header } = moduleText(example, entries, allSources, exportsOf);
    const path = virtualPath(example.key);
    modules.set(path, text);
    byPath.set(path, { example, header });
  }
  // One module that must fail, so that a checker that checks nothing cannot pass.
  const canary = join(VIRTUAL_DIR, "doc-example-canary.ts");
  modules.set(
    canary,
    `import { resolveConfig } from "mlm-ts";\nresolveConfig().batchSize.toUpperCase();\nexport {};\n`,
  );

  const diagnostics = typeCheck(modules, entries);
  assert.ok((diagnostics.get(canary) ?? []).length > 0, "the canary module (a string method on a number) has an error");
  const problems: string[] = [];
  for (const [path, { example, header }] of byPath) {
    for (const d of diagnostics.get(path) ?? []) {
      const at = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      const line = example.line + at - header;
      problems.push(`${example.file}:${line} (${example.key}): ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    }
  }
  assert.ok(examples.length >= 60, `found ${examples.length} examples`);
  assert.deepEqual(problems, []);
});

test("jsdocExamples: blocks below the tag or on its line, indentation removed, first lines counted from 1", () => {
  const source = [
    "/**",
    " * Sums.",
    " *",
    " * @example",
    " *   const a = 1;",
    " *     a + 1;",
    " * @returns the sum",
    " */",
    "export const x = 1;",
    "/** @example f(2); */",
    "/* @example not a doc comment */",
  ].join("\n");
  assert.deepEqual(jsdocExamples(source), [
    { code: "const a = 1;\n  a + 1;", line: 5 },
    { code: "f(2);", line: 10 },
  ]);
  assert.deepEqual(readmeCodeBlocks("# T\n\n```ts\nconst b = 2;\n```\n```sh\nls\n```\n"), [
    { code: "const b = 2;\n", line: 4 },
  ]);
});
