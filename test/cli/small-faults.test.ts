// The smaller faults of a new user's first hour, each with its one-line message and exit code, and
// nothing already written lost (files compared by SHA-256 before and after): an --out-dir that is a
// file or lies under one (2); a read-only folder (1); a --time-budget shorter than what a run cannot
// cut short (0, with a word when the budget is spent and at the end); a corpus given by a relative
// path (the run records it absolutely and resumes from any folder); --threads beyond the kernels'
// limit (2, before any work); a full disk while `mlm tokenizer train` writes (1, naming the file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CONFIG_TABLE } from "../../src/config/index.js";
import { MAX_THREADS } from "../../src/engine/wasm/layout.js";
import { readRunInputs, readRunStatus } from "../../src/run/index.js";
import { fileHashes } from "../file-hashes.js";
import { writeTinyCorpus } from "../train/fixtures.js";
import { scratchFolder, srcModule } from "./child.js";

const root = scratchFolder("mlm-small-faults-");
chmodSync(root, 0o755); // traversable by the unprivileged user of the read-only case
const corpus = writeTinyCorpus(root);
const cache = join(root, "cache");
mkdirSync(cache);
chmodSync(cache, 0o777);
const TINY = [
  "--sample",
  "1",
  "--vocab-size",
  "80",
  "--min-frequency",
  "1",
  "--max-len",
  "16",
  "--d-model",
  "16",
  "--num-layers",
  "1",
  "--num-heads",
  "2",
  "--d-ff",
  "32",
  "--batch-size",
  "16",
  "--backend",
  "ts",
  "--no-progress",
  "--cache-dir",
  cache,
];

/** `mlm ARGS` in a child process (in `cwd`, as `uid` when given, with `node` flags before the script). */
function mlm(args: string[], options: { cwd?: string; uid?: number; node?: string[] } = {}) {
  const r = spawnSync(process.execPath, [...(options.node ?? []), srcModule("cli/main"), ...args], {
    encoding: "utf8",
    cwd: options.cwd ?? root,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  return { code: r.status, err: r.stderr };
}

test("an --out-dir that is a file or lies under one: exit 2 naming the file, nothing written", () => {
  const file = join(root, "notes.txt");
  writeFileSync(file, "my notes\n");
  const before = fileHashes(root, ["cache"]);
  for (const outDir of [file, join(file, "run")]) {
    const r = mlm(["train", corpus, ...TINY, "--out-dir", outDir]);
    assert.equal(r.err, `mlm train: --out-dir ${outDir}: ${file} is a file, not a folder; choose a folder path\n`);
    assert.equal(r.code, 2);
  }
  assert.deepEqual(fileHashes(root, ["cache"]), before);
});

test("a read-only folder: exit 1 naming the folder that is not writable, nothing written", () => {
  const readOnly = join(root, "read-only");
  mkdirSync(readOnly);
  chmodSync(readOnly, 0o555);
  // root may write anywhere: the commands then run as the unprivileged user "nobody".
  const uid = process.getuid?.() === 0 ? 65534 : undefined;
  const train = mlm(["train", corpus, ...TINY, "--out-dir", join(readOnly, "run")], { uid });
  assert.equal(
    train.err,
    `mlm train: ${join(readOnly, "run", "lock.json")}: cannot write: the folder ${readOnly} is not writable (EACCES)\n`,
  );
  assert.equal(train.code, 1);
  const out = join(readOnly, "tokenizer.json");
  const tokenizer = mlm(["tokenizer", "train", corpus, "--vocab-size", "80", "--out", out, "--no-progress"], { uid });
  assert.match(
    tokenizer.err,
    new RegExp(`mlm tokenizer train: ${out}: cannot write: the folder ${readOnly} is not writable \\(EACCES\\)\\n$`),
  );
  assert.equal(tokenizer.code, 1);
  assert.deepEqual(readdirSync(readOnly), []);
});

test("--time-budget 0.1s: the run says when the budget is spent and, at the end, by how much it ran past it", async () => {
  // A budget shorter than the process's own start, so that it is spent whatever the machine's speed.
  const outDir = join(root, "budget");
  const r = mlm(["train", corpus, ...TINY, "--time-budget", "0.1s", "--out-dir", outDir]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /mlm train: the --time-budget of 0\.1s is spent \(\d+\.\d s since the start\); the run ends at its first chance, once it has timed its first steps, with an evaluation and a checkpoint\n/,
  );
  assert.match(r.err, /mlm train: the run took \d+\.\d s, past its --time-budget of 0\.1s\n$/);
  assert.equal((await readRunStatus(outDir))?.state, "finished");
});

test("a corpus given by a relative path: recorded absolutely, the run resumes from another folder (old runs too)", async () => {
  const here = join(root, "here");
  const elsewhere = join(root, "elsewhere");
  mkdirSync(here);
  mkdirSync(elsewhere);
  writeFileSync(join(here, "corpus.txt"), readFileSync(corpus));
  const outDir = join(root, "relative");
  const first = mlm(["train", "corpus.txt", ...TINY, "--max-steps", "4", "--out-dir", outDir], { cwd: here });
  assert.equal(first.code, 0, first.err);
  const config = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.data, join(here, "corpus.txt"));
  assert.equal((await readRunInputs(outDir))?.corpus?.path, join(here, "corpus.txt"));
  const corpusHash = fileHashes(here);
  const resumed = mlm(["train", "--resume", outDir, "--max-steps", "8", "--no-progress"], { cwd: elsewhere });
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal((await readRunStatus(outDir))?.step, 8);
  // A run written before config.json held absolute paths: inputs.json's fingerprinted path is used.
  writeFileSync(join(outDir, "config.json"), JSON.stringify({ ...config, data: "corpus.txt" }));
  const old = mlm(["train", "--resume", outDir, "--max-steps", "12", "--no-progress"], { cwd: elsewhere });
  assert.equal(old.code, 0, old.err);
  assert.equal((await readRunStatus(outDir))?.step, 12);
  assert.deepEqual(fileHashes(here), corpusHash);
});

test("--threads 100000: exit 2 before any work, as other flag errors, for train, fill and eval", () => {
  // The flag's bound is the wasm kernels' limit.
  assert.equal(CONFIG_TABLE.threads.max, MAX_THREADS);
  const outDir = join(root, "threads");
  const before = fileHashes(root, ["cache"]);
  for (const args of [
    ["train", corpus, ...TINY, "--threads", "100000", "--out-dir", outDir],
    ["fill", "a [MASK] b", "--model", outDir, "--threads", "100000"],
    ["eval", "--model", outDir, "--data", corpus, "--threads", "100000"],
  ]) {
    const r = mlm(args);
    assert.match(r.err, /^mlm (train|fill|eval): --threads must be an integer in \[0, 64\], got "100000"\n$/, r.err);
    assert.equal(r.code, 2);
  }
  assert.equal(existsSync(outDir), false);
  assert.deepEqual(fileHashes(root, ["cache"]), before);
});

test("a full disk while mlm tokenizer train writes: exit 1 naming the file; the previous file is unchanged", () => {
  const out = join(root, "tokenizers", "tokenizer.json");
  mkdirSync(join(root, "tokenizers"));
  writeFileSync(out, '{"previous": true}\n');
  const before = fileHashes(join(root, "tokenizers"));
  // ENOSPC from every write into the output's folder, as a full disk gives it (node:fs patched before mlm loads).
  const preload = join(root, "full-disk.mjs");
  writeFileSync(
    preload,
    `import fs from "node:fs"; import fsp from "node:fs/promises"; import { syncBuiltinESMExports } from "node:module";
const full = ${JSON.stringify(join(root, "tokenizers"))};
const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
const open = fsp.open;
fsp.open = async (path, ...rest) => {
  const handle = await open(path, ...rest);
  if (String(path).startsWith(full)) handle.write = async () => { throw enospc(); };
  return handle;
};
const openSync = fs.openSync, writeSync = fs.writeSync, fds = new Set();
fs.openSync = (path, ...rest) => { const fd = openSync(path, ...rest); if (String(path).startsWith(full)) fds.add(fd); return fd; };
fs.writeSync = (fd, ...rest) => { if (fds.has(fd)) throw enospc(); return writeSync(fd, ...rest); };
syncBuiltinESMExports();
`,
  );
  const r = mlm(["tokenizer", "train", corpus, "--vocab-size", "80", "--out", out, "--force", "--no-progress"], {
    node: ["--import", pathToFileURL(preload).href],
  });
  assert.match(r.err, new RegExp(`mlm tokenizer train: ${out}: cannot write: no space left on the device\\n$`));
  assert.equal(r.code, 1);
  assert.deepEqual(fileHashes(join(root, "tokenizers")), before, "the old file is whole and no temporary file is left");
});
