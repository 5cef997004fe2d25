// `mlm` exit codes: 0 for help, 2 for bad arguments (any command), 1 for a failure while running;
// help and version for every command; a quiet exit when the reader of the output goes away.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { fileHashes } from "../file-hashes.js";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { captureStderr } from "./capture-stderr.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Runs main with stderr captured (stdout carries the test runner's own messages). */
async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const { result, text } = await captureStderr(() => main(argv));
  return { code: result, err: text };
}

/** Runs the `mlm` process: exit code, stdout and stderr. */
function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...argv], (error, out, err) => {
      done({ code: error === null ? 0 : Number(error.code), out, err });
    });
  });
}

test("bad arguments exit with 2 and a one-line message naming what was expected", async () => {
  const cases: [string[], RegExp][] = [
    [["train", "--batch-size", "x"], /^mlm train: --batch-size must be an integer >= 1, got "x"\n$/],
    [["train", "--no-such-flag"], /^mlm train: unknown option --no-such-flag \(see mlm train --help\)\n$/],
    [["fill", "--model", "m"], /^mlm fill: expected one TEXT argument \(quote it\), got 0 \(see mlm fill --help\)\n$/],
    [["fill", "a [MASK]"], /^mlm fill: --model DIR is required \(see mlm fill --help\)\n$/],
    [["fill", "a [MASK]", "--model", "m", "--top-k", "0"], /^mlm fill: --top-k must be an integer >= 1, got "0"\n$/],
    [["eval", "--model", "m"], /^mlm eval: give either --data FILE or --split valid/],
    [
      ["eval", "--model", "m", "--data", "x", "--backend", "gpu"],
      /^mlm eval: --backend must be one of wasm, ts, got "gpu"\n$/,
    ],
    [
      ["eval", "--model", "m", "--split", "valid", "--mask-prob", "0.2"],
      /^mlm eval: --split valid uses the run's own settings; drop --mask-prob\n$/,
    ],
    [["runs", "a", "b"], /^mlm runs: expected at most one directory, got 2/],
    [["nonsense"], /^mlm: unknown command "nonsense"/],
  ];
  for (const [argv, message] of cases) {
    const { code, err } = await run(argv);
    assert.equal(code, 2, argv.join(" "));
    assert.match(err, message);
  }
});

test("a failure while running exits with 1; help exits with 0", async () => {
  const dir = tempDir("mlm-main-");
  const { code, err } = await run(["fill", "a [MASK]", "--model", join(dir, "none")]);
  assert.equal(code, 1);
  assert.match(err, /none: no such directory \(expected a run directory or a checkpoint directory\)/);
  assert.equal((await run(["runs", "--help"])).code, 0);
});

test("every command has --help and `mlm help COMMAND`, on stdout with exit code 0", async () => {
  const commands = [["train"], ["tokenizer"], ["tokenizer", "train"], ["download"], ["fill"], ["eval"], ["runs"]];
  await Promise.all(
    commands.map(async (command) => {
      const name = command.join(" ");
      const help = await cli([...command, "--help"]);
      assert.equal(help.code, 0, name);
      assert.equal(help.err, "", name);
      assert.match(help.out, new RegExp(`^Usage: mlm ${name} `), name);
      assert.deepEqual(await cli(["help", ...command]), help, `mlm help ${name}`);
      assert.deepEqual(await cli([...command, "-h"]), help, `mlm ${name} -h`);
    }),
  );
  const usage = await cli(["--help"]);
  assert.equal(usage.code, 0);
  for (const command of commands) assert.match(usage.out, new RegExp(`^  ${command.join(" ")} `, "m"));
  assert.deepEqual(await cli(["help"]), usage);
  // `mlm tokenizer` alone names its sub-commands but is not a complete command.
  const bare = await cli(["tokenizer"]);
  assert.equal(bare.code, 2);
  assert.match(bare.out, /^ {2}train /m);
  assert.equal((await cli(["tokenizer", "nonsense"])).code, 2);
});

test("mlm --version prints the package's version", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  for (const flag of ["--version", "-v"]) {
    const { code, out, err } = await cli([flag]);
    assert.equal(code, 0);
    assert.equal(err, "");
    assert.equal(out, `mlm-ts ${pkg.version}\n`);
  }
});

test("a closed output pipe (mlm runs | head -2) ends a read-only mlm at once and quietly with 141, changing nothing", async () => {
  const dir = tempDir("mlm-main-");
  for (let i = 0; i < 50; i++) {
    mkdirSync(join(dir, `run-${i}`));
    writeFileSync(join(dir, `run-${i}`, "metrics.jsonl"), `{"step":0,"time":0,"split":"valid","loss":9}\n`);
  }
  const before = fileHashes(dir);
  for (const argv of [["runs", dir], ["--help"], ["train", "--help"]]) {
    // The reading end is closed before mlm writes anything: its first write fails with EPIPE.
    const child = spawn(process.execPath, [CLI, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    assert.equal(err, "", argv.join(" "));
    // 128 + SIGPIPE, as a shell reports a command that a closed pipe ended: never a success.
    assert.equal(code, 141, argv.join(" "));
  }
  assert.deepEqual(fileHashes(dir), before);
});

test("before a build, the mlm launcher says how to build instead of a MODULE_NOT_FOUND stack trace", async () => {
  // bin/mlm.js in a copy of the package without dist/, as in a clone before `npm ci` or `npm run build`.
  const dir = tempDir("mlm-unbuilt-");
  mkdirSync(join(dir, "bin"));
  copyFileSync(new URL("../../../bin/mlm.js", import.meta.url), join(dir, "bin", "mlm.js"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const result = await new Promise<{ code: number; err: string }>((done) =>
    execFile(process.execPath, [join(dir, "bin", "mlm.js"), "--version"], (error, _out, err) =>
      done({ code: error === null ? 0 : Number(error.code), err }),
    ),
  );
  assert.equal(result.code, 1);
  assert.equal(
    result.err,
    "mlm: mlm-ts is not built yet (no dist/): run `npm run build` (npm ci and npm install build it)\n",
  );
});

test("mlm train CORPUS uses a corpus of one's own whole, and says so; --sample still takes a share", async () => {
  const dir = tempDir("mlm-own-corpus-");
  const corpus = join(dir, "mine.txt");
  writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => `sentence number ${i} of my own text`).join("\n") + "\n");
  const tiny = ["--max-steps", "1", "--num-layers", "1", "--d-model", "16", "--num-heads", "2", "--d-ff", "16"];
  const common = [...tiny, "--cache-dir", join(dir, "cache"), "--threads", "1"];
  const whole = await cli(["train", corpus, "--out-dir", join(dir, "whole"), ...common]);
  assert.equal(whole.code, 0, whole.err);
  assert.match(whole.err, /split: 32 training and 8 validation sentences \(sample 1, seed 42\)/);
  const share = await cli(["train", corpus, "--sample", "0.5", "--out-dir", join(dir, "share"), ...common]);
  assert.equal(share.code, 0, share.err);
  assert.match(share.err, /split: 16 training and 4 validation sentences \(sample 0\.5, seed 42\)/);
});
