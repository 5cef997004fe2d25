// Every command line of the shell blocks of the README and of the pages of docs/, run as a user would
// run it (each distinct line once, the README's first), in a scratch copy of
// the repository: what git would commit (no runs/, no .cache/, no downloaded data), the checkout's
// node_modules linked and its dist/ copied (built once, by `npm test`). Training lines run with
// `--max-steps 2`, `mlm download` fetches from a local HTTP server, and the lines that need a run
// directory share one tiny run. A line the test can neither run nor finds in NOT_RUN fails it, so a
// new README line gets run or gets a stated reason. The documents are read when the test runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import * as prettier from "prettier";
import { resolveConfig } from "../src/config/index.js";
import { readScalars } from "../src/track/index.js";
import { readmeCodeBlocks } from "./doc-examples.js";
import { tempDir } from "./temp-dir.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** README lines this test does not run, and why. */
const NOT_RUN: Record<string, string> = {
  "npm ci": "the scratch copy links the checkout's node_modules; CI runs npm ci itself (.ci/run)",
  "npm test": "this test is part of npm test",
  "tensorboard --logdir runs": "TensorBoard is a Python program, not part of mlm-ts",
  "mlm studio": "a server that runs until stopped; test/cli/studio.test.ts and test/studio cover it",
  "mlm studio runs --port 8080 --data data --open": "a server that runs until stopped (and opens a browser)",
  "npm run build": "the scratch copy has the checkout's dist/, built once by npm test",
  [`node -e 'import("./dist/bench/webgpu.js").then(async (b) => console.log(await b.runWebGpuBench({ steps: 1, threads: 2, software: true })))'`]:
    "a benchmark on Chromium's software GPU (half a minute a step), not a check",
  "node scripts/test.js dist/test/browser/webgpu-kernels.test.js dist/test/browser/webgpu-training.test.js dist/test/browser/webgpu-train-page.test.js dist/test/browser/webgpu-nonfinite.test.js dist/test/cli/train-webgpu.test.js":
    "these suites are part of npm test",
};

/** Files that README lines read, written into the scratch copy first. */
const FILES: Record<string, string> = {
  "my-run.json": JSON.stringify({ batchSize: 32, learningRate: 0.001 }) + "\n",
  // The quick start's "your own text": 2,000 of the bundled sentences.
  "my-text.txt":
    readFileSync(join(ROOT, "data", "tatoeba-en.txt"), "utf8")
      .split("\n")
      .slice(0, 2000)
      .join("\n") + "\n",
};

/** The documentation: the README, then the pages of docs/ in name order. */
function documents(): { name: string; text: string }[] {
  const pages = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => ({ name: `docs/${f}`, text: readFileSync(join(ROOT, "docs", f), "utf8") }));
  return [{ name: "README.md", text: readFileSync(join(ROOT, "README.md"), "utf8") }, ...pages];
}

/** The run directories the README names as examples, e.g. runs/2026-11-28_10-00-00. */
const EXAMPLE_RUN = /\bruns\/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\b/g;

/** The commands of the README's shell blocks, comments removed, `a && b` split, in order. */
function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inShell = false;
  let inOther = false;
  for (const line of markdown.split("\n")) {
    const fence = /^```(\w*)/.exec(line);
    if (fence !== null) {
      if (inShell || inOther) inShell = inOther = false;
      else if (["sh", "bash", "shell", "console"].includes(fence[1])) inShell = true;
      else inOther = true;
      continue;
    }
    if (!inShell) continue;
    for (const part of stripComment(line).split(" && ")) if (part.trim() !== "") commands.push(part.trim());
  }
  return commands;
}

/** The line without its shell comment (a # that starts a word, outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

const TRAIN = /^(?:mlm|npx mlm|npm run mlm --) (?:train|finetune)\b|^npm run train\b/;
const DOWNLOAD = /^(?:mlm|npx mlm|npm run mlm --) download\b/;
const MLM = /^(?:mlm|npx mlm)(?:\s|$)|^npm run (?:mlm|train)(?:\s|$)/;
const INSTALL_TARBALL = /^npm (?:install|i) (\S+\.tgz)$/;

/** A training line with `--max-steps` set to `steps` (replaced when given, else added). */
function withMaxSteps(command: string, steps: number): string {
  if (/--max-steps[ =]\d+/.test(command)) return command.replace(/--max-steps[ =]\d+/, `--max-steps ${steps}`);
  if (command.startsWith("npm run train") && !command.includes(" -- ")) return `${command} -- --max-steps ${steps}`;
  return `${command} --max-steps ${steps}`;
}

interface Ran {
  command: string;
  code: number | null;
  out: string;
  err: string;
}

/** Runs one shell command line in `cwd`; resolves with its exit code and output. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("close", (code) => done({ command, code, out, err }));
  });
}

/** The scratch copy: the files git would commit (tracked, or untracked and not ignored). */
function scratchCopy(dest: string): void {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f !== "" && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dest, file));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dest, "node_modules"), "dir");
  cpSync(join(ROOT, "dist"), join(dest, "dist"), { recursive: true });
  // Built once: `npm run train` and `npm pack` (prepare) would otherwise rebuild for each line.
  const pkg = JSON.parse(readFileSync(join(dest, "package.json"), "utf8")) as { scripts: Record<string, string> };
  pkg.scripts.build = "echo dist/ was built once for the README test";
  writeFileSync(join(dest, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
}

test("every command line of the README and of docs/ runs", async () => {
  const docs = documents();
  const readme = docs.map((d) => d.text).join("\n");
  const commands = [...new Set(docs.flatMap((d) => readmeCommands(d.text)))];
  for (const line of Object.keys(NOT_RUN))
    assert.ok(commands.includes(line), `NOT_RUN lists "${line}", which the README no longer has`);
  const unknown = commands.filter(
    (c) => !(c in NOT_RUN) && !MLM.test(c) && c !== "npm pack" && !INSTALL_TARBALL.test(c),
  );
  assert.deepEqual(unknown, [], "README lines this test can neither run nor finds in NOT_RUN");

  const scratch = tempDir("mlm-readme-");
  const clone = join(scratch, "mlm-ts");
  const project = join(scratch, "other-project");
  const bin = join(scratch, "bin");
  scratchCopy(clone);
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(clone, name), text);
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "other-project", private: true }) + "\n");
  // `mlm` on the PATH, as `npm link` or a global install would put it.
  mkdirSync(bin);
  writeFileSync(join(bin, "mlm"), `#!/bin/sh\nexec "${process.execPath}" "${join(clone, "bin", "mlm.js")}" "$@"\n`);
  chmodSync(join(bin, "mlm"), 0o755);
  const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
  const env = {
    ...parentEnv,
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    npm_config_offline: "true", // no registry: the tarball carries its dependencies
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };

  // The tutorial's TSV, served locally: the bundled sample of it.
  const tsv = readFileSync(join(clone, "data", "it-en.sample.tsv"));
  const server = createServer((_req, res) => res.writeHead(200, { "content-length": tsv.length }).end(tsv));
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/it-en.tsv`;

  try {
    // The run the README's example run directories stand for: 2 steps, every training loss logged.
    const examples = [...new Set(readme.match(EXAMPLE_RUN) ?? [])];
    assert.ok(examples.length > 0, "the README names an example run directory");
    const shared = await sh(`mlm train --max-steps 2 --log-steps 1 --out-dir ${examples[0]}`, clone, env);
    assert.equal(shared.code, 0, shared.err);
    for (const other of examples.slice(1)) symlinkSync(basename(examples[0]), join(clone, other), "dir");

    const ran: Ran[] = [];
    for (const command of commands) {
      if (command in NOT_RUN) continue;
      let line = command;
      let cwd = clone;
      if (TRAIN.test(line)) line = withMaxSteps(line, line.includes("--resume") ? 4 : 2);
      if (DOWNLOAD.test(line)) line = `${line} --url ${url}`;
      const tarball = INSTALL_TARBALL.exec(line);
      if (tarball !== null) {
        line = `npm install ${join(clone, basename(tarball[1]))}`;
        cwd = project;
      }
      const result = await sh(line, cwd, env);
      ran.push(result);
      assert.equal(result.code, 0, `README line "${command}" ran as "${line}": exit ${result.code}\n${result.err}`);
      assert.doesNotMatch(result.err, /\n\s+at .*:\d+:\d+\)?\n/, `"${line}" printed a stack trace`);
    }

    // What the lines were for: one run's training and validation losses...
    const runsOf = ran.find((r) => /^mlm runs runs\//.test(r.command));
    assert.ok(runsOf !== undefined, "the README shows one run with mlm runs");
    const rows = runsOf.out
      .split("\n")
      .slice(2)
      .filter((l) => l.trim() !== "")
      .map((l) => l.trim().split(/\s+/));
    assert.ok(rows.some((r) => r.length === 2) && rows.some((r) => r.length >= 5), runsOf.out);
    // ...`npx mlm` in the clone (the package's own bin, after the build that npm ci's prepare does)...
    const npx = await sh("npx mlm --version", clone, env);
    assert.equal(npx.code, 0, npx.err);
    assert.match(npx.out, /^mlm-ts \d+\.\d+\.\d+\n$/);
    // ...the tarball's install: dist/, the mlm command and the library, in the other project...
    if (ran.some((r) => INSTALL_TARBALL.test(r.command))) {
      const installed = await sh(
        `npx mlm --version && node --input-type=module -e 'import { resolveConfig } from "mlm-ts"; console.log(resolveConfig().batchSize)'`,
        project,
        env,
      );
      assert.equal(installed.code, 0, installed.err);
      assert.match(installed.out, /^mlm-ts \d+\.\d+\.\d+\n64\n$/);
    }
    // ...and the TensorBoard scalars the README lists are those a run writes.
    const listed = /The TensorBoard scalars: ([^]*?)\n\n/.exec(readme);
    assert.ok(listed !== null, "the README lists the TensorBoard scalars");
    const readmeTags = [...listed[1].matchAll(/`([A-Z][\w/]*)`/g)].map((m) => m[1]).sort();
    const runDir = join(clone, examples[0]);
    const events = readdirSync(runDir).filter((f) => f.startsWith("events.out.tfevents."));
    const written = new Set(events.flatMap((f) => readScalars(join(runDir, f)).map((s) => s.tag)));
    assert.deepEqual(readmeTags, [...written].sort());
  } finally {
    server.close();
  }
});

test("README commands: shell blocks only, comments removed (not inside quotes), && split", () => {
  const markdown = [
    "Run `mlm runs` to see them.",
    "```sh",
    'npm ci && npm run train   # first "time"',
    'mlm fill "a # b [MASK]" --model runs/x # c',
    "",
    "```",
    "```json",
    '{ "mlm": 1 }',
    "```",
    "```",
    "mlm not-shell",
    "```",
    "```bash",
    "# a comment line",
    "mlm --version",
    "```",
  ].join("\n");
  assert.deepEqual(readmeCommands(markdown), [
    "npm ci",
    "npm run train",
    'mlm fill "a # b [MASK]" --model runs/x',
    "mlm --version",
  ]);
  assert.equal(withMaxSteps("mlm train --max-steps 300", 2), "mlm train --max-steps 2");
  assert.equal(withMaxSteps("npm run train", 2), "npm run train -- --max-steps 2");
  assert.equal(withMaxSteps("npm run train -- --shuffle", 2), "npm run train -- --shuffle --max-steps 2");
});

test("the library examples of the README and docs/ pass npm run lint as .mjs scripts at the repository's root", async () => {
  const examples = documents().flatMap((d) => readmeCodeBlocks(d.text).map((b) => b.code));
  assert.ok(examples.length >= 2, "the README has library examples");
  const eslint = new ESLint({ cwd: ROOT });
  for (const [i, code] of examples.entries()) {
    // A file the README invites: saved next to package.json, where "mlm-ts" resolves to the package.
    const filePath = join(ROOT, `readme-example-${i + 1}.mjs`);
    const [result] = await eslint.lintText(code, { filePath });
    const problems = result.messages.map((m) => `${m.line}:${m.column} ${m.message} (${m.ruleId})`);
    assert.deepEqual(problems, [], `example ${i + 1}:\n${code}`);
    const options = { ...(await prettier.resolveConfig(filePath)), filepath: filePath };
    assert.ok(await prettier.check(code, options), `example ${i + 1} is not formatted as Prettier would`);
  }
});

test("the README's --config example (its json block) is a configuration mlm train accepts", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```json\n([^]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length > 0, "the README shows a --config file");
  for (const block of blocks) resolveConfig(JSON.parse(block) as Record<string, unknown>, "the README's json block");
});
