import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { inspectRun, listRuns, MetricsLog, runCurves, summarizeRun, writeRunStatus } from "../../src/run/index.js";
import { runsCommand } from "../../src/cli/runs.js";

async function fakeRun(root: string, name: string, valid: [number, number][], data: string | null): Promise<string> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ data }));
  const log = await MetricsLog.open(join(dir, "metrics.jsonl"));
  for (const [step, loss] of valid) {
    if (step > 0) log.log(step, { split: "train", loss: loss + 0.5, lr: 3e-4 }, 1000 + step);
    log.log(step, { split: "valid", loss, perplexity: Math.exp(loss), accuracy: 0.1, top5: 0.2 }, 1000 + step);
  }
  await log.close();
  return dir;
}

test("runs are summarised from their metrics: best validation loss, steps, curves", async () => {
  const root = tempDir("mlm-runs-");
  const a = await fakeRun(
    root,
    "2026-01-01_00-00-00",
    [
      [0, 9.8],
      [100, 6.4],
      [200, 6.5],
    ],
    null,
  );
  await fakeRun(
    root,
    "2026-01-02_00-00-00",
    [
      [0, 9.7],
      [50, 7.0],
    ],
    "it-en.tsv",
  );
  mkdirSync(join(root, "not-a-run"));
  await writeRunStatus(a, { state: "finished", step: 200, time: 1200 });
  const s = await summarizeRun(a);
  assert.equal(s.bestValidLoss, 6.4);
  assert.equal(s.bestStep, 100);
  assert.equal(s.lastStep, 200);
  assert.equal(s.lastTrainLoss, 7);
  assert.equal(s.seconds, 200);
  assert.deepEqual(s.status, { state: "finished", step: 200, time: 1200 });
  assert.deepEqual(
    (await runCurves(a)).valid.map((v) => v.step),
    [0, 100, 200],
  );
  assert.deepEqual(
    (await listRuns(root)).map((r) => [r.name, "data" in r ? r.data : r.error]),
    [
      ["2026-01-01_00-00-00", null],
      ["2026-01-02_00-00-00", "it-en.tsv"],
    ],
  );

  let out = "";
  await runsCommand([root], (t) => (out += t));
  assert.match(out, /2026-01-01_00-00-00\s+200\s+6\.4000\s+100\s+7\.0000\s+\S+\s+finished\s/);
  out = "";
  await runsCommand([a, "--json"], (t) => (out += t));
  assert.equal(JSON.parse(out).valid.length, 3);
  await assert.rejects(
    runCurves(join(root, "not-a-run")),
    /not-a-run: not a run directory \(no metrics.jsonl or config.json\)/,
  );
});

test("a diverged loss stays visible, and an unreadable run is listed with its error", async () => {
  const root = tempDir("mlm-runs-");
  const diverged = await fakeRun(
    root,
    "a-diverged",
    [
      [0, 9.8],
      [100, Number.NaN],
    ],
    null,
  );
  assert.ok(Number.isNaN((await summarizeRun(diverged)).lastTrainLoss!));
  assert.equal((await summarizeRun(diverged)).bestValidLoss, 9.8);
  const broken = await fakeRun(root, "b-broken", [[0, 9.8]], null);
  writeFileSync(join(broken, "config.json"), "{ not json");
  const runs = await listRuns(root);
  assert.equal(runs.length, 2);
  assert.match("error" in runs[1] ? runs[1].error : "", /b-broken[\\/]config\.json: not valid JSON/);
  let out = "";
  await runsCommand([root], (t) => (out += t));
  assert.match(out, /b-broken\s+unreadable: .*config\.json: not valid JSON/);
});

test("mlm runs RUN prints every logged training loss and every evaluation; a run without metrics is listed", async () => {
  const root = tempDir("mlm-runs-");
  const dir = join(root, "run");
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ data: null }));
  const log = await MetricsLog.open(join(dir, "metrics.jsonl"));
  log.log(0, { split: "valid", loss: 9.8, perplexity: 18000, accuracy: 0, top5: 0.01 }, 1000);
  for (let step = 20; step <= 100; step += 20) log.log(step, { split: "train", loss: 10 - step / 100 }, 1000 + step);
  log.log(100, { split: "valid", loss: 8.5, perplexity: 4914.8, accuracy: 0.1, top5: 0.2 }, 1100);
  await log.close();
  let out = "";
  await runsCommand([dir], (t) => (out += t));
  const [table, plot] = out.trimEnd().split("\n\n"); // the table, then the losses drawn as text
  assert.match(plot, /^9\.8 \|o/);
  assert.match(plot, /\* train loss {3}o valid loss$/);
  const rows = table.split("\n").slice(2);
  assert.deepEqual(
    rows.map((r) => r.trim().split(/\s+/)),
    [
      ["0", "9.8000", "18000.0", "0.0%", "1.0%"],
      ["20", "9.8000"],
      ["40", "9.6000"],
      ["60", "9.4000"],
      ["80", "9.2000"],
      ["100", "9.0000", "8.5000", "4914.8", "10.0%", "20.0%"],
    ],
  );
  // Column by column: the step-0 evaluation's loss sits under "valid loss", not under "train loss".
  const header = out.split("\n")[1];
  assert.equal(rows[0].indexOf("9.8000") + 6, header.indexOf("valid loss") + 10);

  // A run that has not logged anything yet: listed, and described as such.
  const fresh = join(root, "fresh");
  mkdirSync(fresh);
  writeFileSync(join(fresh, "config.json"), JSON.stringify({ data: "it-en.tsv" }));
  out = "";
  await runsCommand([root], (t) => (out += t));
  assert.match(out, /^fresh\s+-\s+no metrics\.jsonl yet .* it-en\.tsv$/m);
  assert.match(out, /^run\s+100\s+8\.5000\s+100\s+9\.0000/m);
  out = "";
  await runsCommand([fresh], (t) => (out += t));
  assert.equal(out, `${fresh}: no metrics.jsonl yet (no step logged)\n`);
  // A checkpoint directory is not a run.
  mkdirSync(join(dir, "best"));
  writeFileSync(join(dir, "best", "config.json"), "{}");
  writeFileSync(join(dir, "best", "model.safetensors"), "");
  out = "";
  await runsCommand([join(dir, "best")], (t) => (out += t));
  assert.equal(out, `no runs under ${join(dir, "best")}\n`);
});

test("a listing parses only the lines its summary needs, and agrees with reading every record", async () => {
  const root = tempDir("mlm-runs-");
  const dir = join(root, "run");
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ data: "corpus.txt" }));
  const lines = [
    "",
    JSON.stringify({ step: 0, split: "valid", loss: 9.8, time: 1000 }),
    JSON.stringify({ step: 10, split: "train", loss: 8, time: 1010 }),
    JSON.stringify({ step: 20, split: "valid", loss: 7.5, time: 1020 }),
    JSON.stringify({ step: 30, split: "train", loss: 7, time: 1030 }),
    // a warning's text names a split: the substring finds it, the parse sets it aside
    JSON.stringify({ step: 40, warning: "divergence", message: 'loss of "train" rose', time: 1040 }),
    JSON.stringify({ step: 40, split: "valid", loss: "NaN", time: 1040 }),
    JSON.stringify({ step: 50, split: "train", loss: 6.5, time: 1050 }),
    JSON.stringify({ step: 60, split: "valid", loss: 6.9, time: 1060 }),
    '{"step": 70, "split": "tra', // cut off by a crash
  ];
  writeFileSync(join(dir, "metrics.jsonl"), lines.join("\n"));
  const { train: _t, valid: _v, ...everything } = await inspectRun(dir);
  const summary = await summarizeRun(dir);
  assert.deepEqual(summary, everything);
  assert.deepEqual(
    [summary.lastStep, summary.bestValidLoss, summary.bestStep, summary.lastTrainLoss, summary.seconds],
    [60, 6.9, 60, 6.5, 60],
  );
  // A bad line that an evaluation search reaches is reported with its line number, as a full read does.
  writeFileSync(join(dir, "metrics.jsonl"), [lines[1], '{"step": 5, "split": "valid", oops}', lines[2]].join("\n"));
  await assert.rejects(summarizeRun(dir), /metrics\.jsonl:2: expected a JSON object/);
  await assert.rejects(inspectRun(dir), /metrics\.jsonl:2: expected a JSON object/);
});

test("a run's best checkpoint and latest checkpoints count in its listing: an imported run, one without metrics", async () => {
  const root = tempDir("mlm-runs-");
  // As `mlm import` leaves a run: the evaluations logged before the export, then checkpoints whose
  // best holds a lower loss at a step the log never reached.
  const dir = await fakeRun(
    root,
    "imported",
    [
      [0, 9.8],
      [1260, 5.8738],
    ],
    null,
  );
  const checkpoint = (name: string, state: object): void => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "train_state.json"), JSON.stringify(state));
  };
  checkpoint("best", { step: 1240, bestValidLoss: 5.8578, bestStep: 1240 });
  checkpoint("last-00002200", { step: 2200, bestValidLoss: 5.8578, bestStep: 1240 });
  const s = await summarizeRun(dir);
  assert.deepEqual([s.bestValidLoss, s.bestStep, s.lastStep], [5.8578, 1240, 2200]);

  const bare = join(root, "checkpoints-only");
  mkdirSync(bare);
  writeFileSync(join(bare, "config.json"), JSON.stringify({ data: null }));
  const only = (name: string, state: object): void => {
    mkdirSync(join(bare, name));
    writeFileSync(join(bare, name, "train_state.json"), JSON.stringify(state));
  };
  only("best", { step: 300, bestValidLoss: 6.047, bestStep: 300 });
  let out = "";
  await runsCommand([root], (t) => (out += t));
  assert.match(out, /checkpoints-only\s+300\s+6\.0470\s+300\s/);
  assert.doesNotMatch(out, /no metrics.jsonl yet/);
  assert.match(out, /imported\s+2200\s+5\.8578\s+1240\s/);
});
