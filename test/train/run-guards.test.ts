// What `mlm train` refuses so that a run stays trustworthy, each time with a one-line message, exit
// code 1 and the existing run left byte for byte as it was: training into a finished run without
// --force (also through --config RUN/config.json), a second trainer or a resume of a run being
// trained, a corpus or tokenizer edited since the run started (on resume and on eval --split valid),
// a train_state.json with wrong fields, and an out-dir that cannot be written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { captureStderr } from "../cli/capture-stderr.js";
import type { NamedTensor } from "../../src/model/index.js";
import { readSafetensors, writeSafetensors } from "../../src/run/index.js";
import { readMetrics } from "../../src/track/index.js";
import { writeTinyCorpus } from "./fixtures.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** A tiny model that trains 10 steps in about a second on the plain TypeScript backend. */
function tinyFlags(dir: string): string[] {
  return [
    ...["--sample", "1", "--vocab-size", "80", "--min-frequency", "1", "--max-len", "16", "--d-model", "16"],
    ...["--num-layers", "2", "--num-heads", "2", "--d-ff", "32", "--batch-size", "16", "--learning-rate", "3e-3"],
    ...["--max-steps", "10", "--eval-steps", "5", "--log-steps", "5", "--backend", "ts", "--no-progress"],
    ...["--cache-dir", join(dir, "cache")],
  ];
}

/** Runs `mlm` in this process; returns its exit code and what it wrote to stderr (stdout passes through). */
async function mlm(...argv: string[]): Promise<{ code: number; err: string }> {
  const { result, text } = await captureStderr(() => main(argv));
  return { code: result, err: text };
}

/** Every file under `dir` with the SHA-256 of its bytes: equal snapshots mean nothing was lost or changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("training into a finished run needs --force (also via --config RUN/config.json), which starts it afresh", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-guard-"));
  try {
    const corpus = writeTinyCorpus(dir);
    const run = join(dir, "run");
    assert.equal((await mlm("train", corpus, ...tinyFlags(dir), "--out-dir", run)).code, 0);
    writeFileSync(join(run, "notes.txt"), "mine"); // not the run's: --force keeps it
    const before = snapshot(run);
    const refusal = new RegExp(
      `^mlm train: ${escape(run)} already holds a run ` +
        `\\(best, config\\.json, curves\\.svg, events\\.out\\.tfevents\\.[^,]+, \\.\\.\\.\\): ` +
        `continue it with --resume ${escape(run)}, or start it afresh with --force \\(deleting its checkpoints and logs\\)\\n$`,
    );
    for (const argv of [
      ["train", corpus, ...tinyFlags(dir), "--out-dir", run],
      ["train", "--config", join(run, "config.json")],
    ]) {
      const r = await mlm(...argv);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, refusal);
      assert.deepEqual(snapshot(run), before, "the finished run is untouched");
    }
    // --force never deletes an input of the new run.
    const input = await mlm(
      "train",
      corpus,
      ...tinyFlags(dir),
      "--out-dir",
      run,
      "--force",
      "--tokenizer",
      join(run, "tokenizer.json"),
    );
    assert.equal(input.code, 1);
    assert.equal(
      input.err,
      `mlm train: --force would delete ${join(run, "tokenizer.json")}, the tokenizer of the new run, ` +
        `with the previous run in ${run}; copy it out of the run directory first\n`,
    );
    assert.deepEqual(snapshot(run), before);
    const both = await mlm("train", "--resume", run, "--force");
    assert.equal(both.code, 2);
    assert.match(both.err, /^mlm train: --force starts a run afresh, --resume continues it: give one of them\n$/);

    // --force through the run's own config.json: a fresh run of 6 steps, nothing of the old one mixed in.
    const fresh = await mlm("train", "--config", join(run, "config.json"), "--force", "--max-steps", "6");
    assert.equal(fresh.code, 0, fresh.err);
    const records = readMetrics(join(run, "metrics.jsonl"));
    assert.deepEqual(
      records.filter((r) => r.split === "valid").map((r) => r.step),
      [0, 5, 6],
    );
    assert.deepEqual(
      readdirSync(run).filter((n) => n.startsWith("last-")),
      ["last-00000006"],
    );
    assert.equal(readdirSync(run).filter((n) => n.startsWith("events.out.tfevents.")).length, 1);
    assert.equal(readFileSync(join(run, "notes.txt"), "utf8"), "mine");
    assert.equal(existsSync(join(run, "lock.json")), false, "the lock is released");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second trainer, and a resume of a run being trained, are refused; the first trainer is unharmed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-guard-two-"));
  try {
    const corpus = writeTinyCorpus(dir);
    const run = join(dir, "run");
    const flags = [...tinyFlags(dir), "--max-steps", "400", "--eval-steps", "100", "--log-steps", "1"];
    const first = spawn(process.execPath, [CLI, "train", corpus, ...flags, "--out-dir", run], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let firstErr = "";
    first.stderr.on("data", (chunk: Buffer) => (firstErr += chunk.toString()));
    const firstExit = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)));
    // Once the first trainer has written its config, a resume would find a run to continue.
    while (!existsSync(join(run, "config.json")) && first.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(first.exitCode, null, `the first trainer is still training: ${firstErr}`);
    const held = new RegExp(
      `^mlm train: ${escape(run)} is being trained by process ${first.pid} \\(since .* UTC\\); ` +
        `a run directory takes one trainer at a time\\. ` +
        `Wait for it or stop it; if that process is not a trainer, delete ${escape(join(run, "lock.json"))}\\n$`,
    );
    const second = await mlm("train", corpus, ...flags, "--out-dir", run);
    assert.equal(second.code, 1);
    assert.match(second.err, held);
    const resume = await mlm("train", "--resume", run, "--no-progress");
    assert.equal(resume.code, 1);
    assert.match(resume.err, held);
    const forced = await mlm("train", corpus, ...flags, "--out-dir", run, "--force");
    assert.equal(forced.code, 1);
    assert.match(forced.err, held);
    assert.equal(first.exitCode, null, "the first trainer was still running during the attempts");

    assert.equal(await firstExit, 0, firstErr);
    // One trainer's log: every step once, in order, and every checkpoint it wrote.
    const steps = readMetrics(join(run, "metrics.jsonl"))
      .filter((r) => r.split === "train")
      .map((r) => r.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 400 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      readdirSync(run).filter((n) => n.startsWith("last-")),
      ["last-00000400"],
    );
    assert.equal(existsSync(join(run, "lock.json")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a corpus or tokenizer edited since the run started is refused on resume and on eval --split valid; a copy is not", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-guard-data-"));
  try {
    const corpus = writeTinyCorpus(dir);
    const original = readFileSync(corpus);
    const run = join(dir, "run");
    assert.equal((await mlm("train", corpus, ...tinyFlags(dir), "--out-dir", run)).code, 0);
    const inputs = JSON.parse(readFileSync(join(run, "inputs.json"), "utf8"));
    assert.deepEqual(inputs.corpus, {
      path: corpus,
      size: original.length,
      sha256: createHash("sha256").update(original).digest("hex"),
    });
    assert.equal(inputs.tokenizer.size, statSync(join(run, "tokenizer.json")).size);
    const before = snapshot(run);
    const short = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex").slice(0, 12);

    // One sentence more: another size. The same size with one letter changed: another hash.
    const longer = Buffer.concat([original, Buffer.from("one more sentence .\n")]);
    const sameSize = Buffer.from(original.toString("utf8").replace("the", "THE"));
    for (const edited of [longer, sameSize]) {
      writeFileSync(corpus, edited);
      const change =
        `since the run started (inputs.json), the corpus ${corpus} changed: ` +
        `was ${original.length} bytes (sha256 ${short(original)}...), ` +
        `now ${edited.length} bytes (sha256 ${short(edited)}...)`;
      const resume = await mlm("train", "--resume", run, "--max-steps", "20");
      assert.equal(resume.code, 1);
      assert.equal(
        resume.err,
        `mlm train: ${run}: ${change}; resuming would continue on other data than the run was trained on. Restore the file, or start a new run\n`,
      );
      const evaluation = await mlm("eval", "--model", run, "--split", "valid", "--backend", "ts");
      assert.equal(evaluation.code, 1);
      assert.equal(
        evaluation.err,
        `mlm eval: ${run}: ${change}; its validation split would hold other sentences than the ones training scored. Restore the file, or start a new run\n`,
      );
      assert.deepEqual(snapshot(run), before, "the refused resume changed nothing");
    }

    // An edited tokenizer.json of the run is refused too.
    const tokenizerPath = join(run, "tokenizer.json");
    const tokenizerText = readFileSync(tokenizerPath, "utf8");
    writeFileSync(corpus, original);
    writeFileSync(tokenizerPath, tokenizerText.replace("[UNK]", "[UNKNOWN]"));
    const tok = await mlm("train", "--resume", run, "--max-steps", "20");
    assert.equal(tok.code, 1);
    assert.match(tok.err, new RegExp(`the tokenizer ${escape(tokenizerPath)} changed: was \\d+ bytes`));
    writeFileSync(tokenizerPath, tokenizerText);

    // The same bytes again (a new modification time) resume; so does a copy of corpus and run elsewhere,
    // named by a relative path as a cloned project would be.
    assert.equal((await mlm("train", "--resume", run, "--max-steps", "15")).code, 0);
    const project = join(dir, "project");
    mkdirSync(project);
    cpSync(corpus, join(project, "corpus.txt"));
    const made = spawnSync(
      process.execPath,
      [CLI, "train", "corpus.txt", ...tinyFlags(project), "--out-dir", "run", "--cache-dir", "cache"],
      { cwd: project, encoding: "utf8" },
    );
    assert.equal(made.status, 0, made.stderr);
    const clone = join(dir, "clone");
    cpSync(project, clone, { recursive: true });
    const resumed = spawnSync(process.execPath, [CLI, "train", "--resume", "run", "--max-steps", "15"], {
      cwd: clone,
      encoding: "utf8",
    });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(existsSync(join(clone, "run", "last-00000015")));

    // A run without inputs.json (made before fingerprints) still resumes.
    rmSync(join(run, "inputs.json"));
    assert.equal((await mlm("train", "--resume", run, "--max-steps", "20")).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint with wrong train_state.json fields or tensor shapes: one line naming the file; nothing else changes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-guard-state-"));
  try {
    const corpus = writeTinyCorpus(dir);
    const run = join(dir, "run");
    assert.equal((await mlm("train", corpus, ...tinyFlags(dir), "--out-dir", run)).code, 0);
    const statePath = join(run, "last-00000010", "train_state.json");
    const good = JSON.parse(readFileSync(statePath, "utf8"));
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, loader: undefined }, `"loader" must be an object, got nothing`],
      [{ ...good, step: "ten" }, `"step" must be a whole number >= 0, got "ten"`],
      [{ ...good, loader: { ...good.loader, epoch: -1 } }, `"loader.epoch" must be a whole number >= 0, got -1`],
      [
        { ...good, dropoutRng: { s: [1, 2, 3], spare: null } },
        `"dropoutRng.s" must be four 32-bit unsigned integers, got [1,2,3]`,
      ],
      [{ ...good, validHistory: [{ step: 0 }] }, `"validHistory[0].loss" must be a number or null, got nothing`],
    ];
    for (const [state, message] of cases) {
      writeFileSync(statePath, JSON.stringify(state));
      const before = snapshot(run);
      const r = await mlm("train", "--resume", run, "--max-steps", "20", "--no-progress");
      assert.equal(r.code, 1);
      assert.equal(r.err, `mlm train: ${statePath}: ${message}\n`);
      assert.deepEqual(snapshot(run), before);
    }
    writeFileSync(statePath, JSON.stringify(good));
    // Valid safetensors files whose tensors do not fit the model or the optimizer.
    const rewrite = (file: string, change: (t: NamedTensor[]) => NamedTensor[]): void => {
      const path = join(run, "last-00000010", file);
      const tensors = [...readSafetensors(readFileSync(path), path)].map(([name, t]) => ({ name, ...t }));
      writeFileSync(path, Buffer.concat(writeSafetensors(change(tensors))));
    };
    rewrite("model.safetensors", (ts) =>
      ts.map((t) => (t.name === "embed.weight" ? { ...t, shape: [...t.shape].reverse() } : t)),
    );
    const model = await mlm("train", "--resume", run, "--max-steps", "20", "--no-progress");
    assert.equal(model.code, 1);
    assert.equal(
      model.err,
      `mlm train: ${join(run, "last-00000010", "model.safetensors")}: loadTensors: tensor 'embed.weight' has shape [16, 80], expected [80, 16]\n`,
    );
    rewrite("model.safetensors", (ts) =>
      ts.map((t) => (t.name === "embed.weight" ? { ...t, shape: [...t.shape].reverse() } : t)),
    );
    rewrite("optimizer.safetensors", (ts) => ts.map((t) => ({ ...t, shape: [3], data: t.data.subarray(0, 3) })));
    const moments = await mlm("train", "--resume", run, "--max-steps", "20", "--no-progress");
    assert.equal(moments.code, 1);
    assert.match(
      moments.err,
      new RegExp(
        `^mlm train: ${escape(join(run, "last-00000010", "optimizer.safetensors"))}: Adam.setState: expected moments of \\d+ values, got 3 and 3\n$`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "an out-dir that cannot be written is named as such",
  { skip: (process.platform === "win32" || process.getuid === undefined) && "POSIX permissions" },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "mlm-guard-ro-"));
    try {
      const corpus = writeTinyCorpus(dir);
      const readOnly = join(dir, "read-only");
      const cache = join(dir, "cache");
      mkdirSync(readOnly);
      mkdirSync(cache);
      chmodSync(dir, 0o755);
      chmodSync(readOnly, 0o555);
      chmodSync(cache, 0o777);
      // root may write anywhere: the check then runs as the unprivileged user "nobody".
      const asRoot = process.getuid?.() === 0;
      const r = spawnSync(
        process.execPath,
        [CLI, "train", corpus, ...tinyFlags(dir), "--cache-dir", cache, "--out-dir", join(readOnly, "run")],
        { encoding: "utf8", cwd: dir, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.equal(
        r.stderr,
        `mlm train: ${join(readOnly, "run", "lock.json")}: cannot write: the folder ${readOnly} is not writable (EACCES)\n`,
      );
      assert.deepEqual(readdirSync(readOnly), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
