// The studio's training jobs run in their own process group: Ctrl-C in the studio's terminal (a
// SIGINT to its whole foreground group) reaches the studio only, which sends each job exactly one
// SIGINT and waits for it to save; past --save-wait it names the runs still saving and exits 1; and
// a studio killed outright leaves no job running without a checkpoint (the job's stderr pipe closes:
// mlm train takes that as SIGHUP). In every case the run's inputs are unchanged, its status is
// "interrupted" and its newest checkpoint holds the step the status names.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { listLastCheckpoints, loadCheckpoint, readRunStatus } from "../../src/run/index.js";
import type { TrainState } from "../../src/train/train-state.js";
import { fileHashes } from "../file-hashes.js";
import { tempDir } from "../temp-dir.js";
import { MLM, writeTinyCorpus } from "./fixtures.js";

/** A job long enough to be stopped mid-way, logging a training loss at every step. */
const SETTINGS = {
  maxSteps: 100000,
  logSteps: 1,
  evalSteps: 100000,
  sample: 1,
  vocabSize: 300,
  dModel: 16,
  numLayers: 1,
  numHeads: 2,
  dFF: 32,
  batchSize: 16,
  backend: "ts",
};

interface Started {
  dir: string;
  studio: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
  runDir: string;
  /** config.json, tokenizer.json and inputs.json of the job's run, once it trains. */
  inputs: Record<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** `mlm studio` as a terminal runs it (the leader of its own process group), with one job training. */
async function studioWithJob(flags: string[] = []): Promise<Started> {
  const dir = tempDir("mlm-studio-stop-");
  mkdirSync(join(dir, "runs"));
  mkdirSync(join(dir, "data"));
  writeTinyCorpus(join(dir, "data", "tiny.txt"));
  const studio = spawn(process.execPath, [MLM, "studio", "runs", "--data", "data", ...flags], {
    cwd: dir,
    stdio: "pipe",
    detached: true,
  });
  let out = "";
  let err = "";
  studio.stdout.on("data", (c: Buffer) => (out += c.toString()));
  studio.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => studio.on("close", (code) => resolve(code)));
  let url: RegExpMatchArray | null = null;
  await until(
    "the studio's address",
    () => (url = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]{64})/.exec(out)) !== null,
  );
  const [, origin, token] = url!;
  const res = await fetch(`${origin}/api/train?token=${token}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ corpus: "tiny.txt", name: "job", settings: SETTINGS }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const runDir = join(dir, "runs", "job");
  const metrics = join(runDir, "metrics.jsonl");
  await until(
    "three logged steps",
    () => existsSync(metrics) && readFileSync(metrics, "utf8").split('"split":"train"').length > 3,
  );
  const all = fileHashes(runDir);
  const inputs = Object.fromEntries(["config.json", "tokenizer.json", "inputs.json"].map((n) => [n, all[n]]));
  return { dir, studio, stderr: () => err, exited, runDir, inputs };
}

/** The job has saved and let go of its run: status "interrupted", newest checkpoint at that step, inputs unchanged. */
async function assertSaved(s: Started): Promise<void> {
  await until("the job's status", async () => (await readRunStatus(s.runDir))?.state !== "running");
  await until("the lock's release", () => !existsSync(join(s.runDir, "lock.json")));
  const status = await readRunStatus(s.runDir);
  assert.equal(status?.state, "interrupted");
  const latest = (await listLastCheckpoints(s.runDir)).at(-1);
  assert.ok(latest !== undefined, "a checkpoint was saved");
  assert.equal((await loadCheckpoint<object, TrainState>(latest)).state.step, status.step);
  const after = fileHashes(s.runDir);
  for (const [name, hash] of Object.entries(s.inputs)) assert.equal(after[name], hash, name);
}

test("Ctrl-C in the studio's terminal: its job gets one SIGINT, saves, and the studio exits 0", async () => {
  const s = await studioWithJob();
  process.kill(-s.studio.pid!, "SIGINT"); // what the terminal does: the whole foreground group
  assert.equal(await s.exited, 0, s.stderr());
  // The studio waited: the job had saved and exited before the studio did.
  assert.equal(existsSync(join(s.runDir, "lock.json")), false);
  await assertSaved(s);
});

test("a job still saving after --save-wait: the studio names it and exits 1; the job finishes its save", async () => {
  const s = await studioWithJob(["--save-wait", "0"]);
  process.kill(-s.studio.pid!, "SIGINT");
  assert.equal(await s.exited, 1);
  assert.match(s.stderr(), /^mlm studio: after 0 s, still saving: job; they finish alone \(mlm runs shows when\)\n$/);
  await assertSaved(s);
});

test("a studio killed outright (SIGKILL): its job stops as on SIGHUP and saves", async () => {
  const s = await studioWithJob();
  s.studio.kill("SIGKILL");
  await s.exited;
  await assertSaved(s);
});
