// Fine-tuning through the shared loop: a run from a tiny pre-trained run, stopped (as Ctrl-C does)
// and resumed, gives the uninterrupted run's losses, evaluations and weights bit for bit; the run
// directory holds the task (id2label, source and its fingerprint) and every metric; the refusals.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig, type TrainConfig } from "../../src/config/index.js";
import { loadCheckpoint, readRunStatus } from "../../src/run/index.js";
import { train } from "../../src/train/trainer.js";
import { finetune, FINETUNE_DEFAULTS, resumeFinetune } from "../../src/train/finetune.js";
import { classify, loadModel } from "../../src/pipelines/index.js";
import { tempDir } from "../temp-dir.js";
import { tinyConfig } from "./fixtures.js";

const dir = tempDir("mlm-finetune-");
const preDir = join(dir, "pre");
let data: string;

/** 40 labelled sentences: "pos" when they talk of a red thing, "neg" of a blue one. */
function labelledFile(name: string): string {
  const things = ["cat", "dog", "car", "cup", "hat", "box", "pen", "bag", "bus", "toy"];
  const rows = ["sentence\tlabel"];
  for (const t of things) {
    rows.push(`the red ${t} is here\tpos`, `a red ${t}\tpos`, `the blue ${t} is here\tneg`, `a blue ${t}\tneg`);
  }
  const p = join(dir, name);
  writeFileSync(p, rows.join("\n") + "\n");
  return p;
}

before(async () => {
  // a tiny masked-LM run: its tokenizer and encoder are what fine-tuning starts from
  await train(tinyConfig(dir, { outDir: preDir, maxSteps: 20, evalSteps: 20 }));
  data = labelledFile("colours.tsv");
});

function config(outDir: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig({
    ...FINETUNE_DEFAULTS,
    data,
    batchSize: 8,
    learningRate: 1e-3,
    maxSteps: 24,
    evalSteps: 8,
    logSteps: 4,
    shuffle: true,
    backend: "ts",
    progress: false,
    outDir,
    ...overrides,
  });
}

const curve = (runDir: string, split: string): unknown[] =>
  readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.split === split)
    .map(({ time: _t, tokensPerSec: _s, ...rest }) => rest);

test("a fine-tuning run: the task in config.json, every metric in metrics.jsonl, best/ by accuracy, classify", async () => {
  const runDir = join(dir, "plain");
  const lines: string[] = [];
  const s = await finetune({ config: config(runDir), from: preDir }, { log: (l) => lines.push(l) });
  assert.equal(s.stoppedBy, "schedule");
  assert.match(
    lines.find((l) => l.startsWith("baseline")) ?? "",
    /^baseline \(TF-IDF \+ logistic regression, same split\): accuracy [\d.]+%, macro-F1 /,
  );
  assert.ok(
    lines.some((l) =>
      /^data: 32 training and 8 validation examples, 2 classes \(neg, pos\); 0 longer than 16 tokens/.test(l),
    ),
    lines.join("\n"),
  );
  const saved = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8"));
  assert.equal(saved.task, "text-classification");
  assert.deepEqual(saved.classifier.id2label, ["neg", "pos"]);
  assert.equal(saved.classifier.from, preDir);
  assert.match(saved.classifier.fromFingerprint, /^[0-9a-f]{64}$/);
  const valid = curve(runDir, "valid") as Record<string, number>[];
  assert.deepEqual(
    valid.map((r) => r.step),
    [0, 8, 16, 24],
  );
  for (const key of ["loss", "accuracy", "macroF1", "precision/pos", "recall/neg", "f1/pos", "confusion/neg/pos"])
    assert.ok(typeof valid[0][key] === "number", key);
  const bestAccuracy = Math.max(...valid.map((r) => r.accuracy));
  const firstBest = valid.find((r) => r.accuracy === bestAccuracy)!;
  assert.equal(s.bestStep, firstBest.step, "best/ is the first evaluation with the highest accuracy");
  const best = await loadCheckpoint(join(runDir, "best"), { optimizer: false });
  assert.equal(best.config.task, "text-classification");
  assert.ok(best.tensors.some((t) => t.name === "classifier.out.weight"));
  assert.ok(!best.tensors.some((t) => t.name.startsWith("head.")), "the masked-LM head is dropped");
  const loaded = await loadModel(runDir, { task: "text-classification" });
  try {
    const out = classify(loaded, "a red hat", { topK: 2 });
    assert.deepEqual(out.map((o) => o.label).sort(), ["neg", "pos"]);
  } finally {
    loaded.dispose();
  }
});

test("stopped (as Ctrl-C does) and resumed, a fine-tuning run is the uninterrupted one bit for bit", async () => {
  const refDir = join(dir, "reference");
  const reference = await finetune({ config: config(refDir), from: preDir });
  const runDir = join(dir, "stopped");
  const controller = new AbortController();
  const first = await finetune(
    { config: config(runDir), from: preDir },
    { signal: controller.signal, log: (l) => /^step 12: training loss/.test(l) && controller.abort(new Error("stop")) },
  );
  assert.equal(first.stoppedBy, "signal");
  assert.equal(first.steps, 12);
  assert.equal((await readRunStatus(runDir))?.state, "interrupted");
  const resumed = await resumeFinetune(runDir);
  assert.deepEqual(resumed.evaluations, reference.evaluations);
  assert.deepEqual(curve(runDir, "train"), curve(refDir, "train"));
  assert.deepEqual(curve(runDir, "valid"), curve(refDir, "valid"));
  const a = await loadCheckpoint(join(refDir, "last-00000024"));
  const b = await loadCheckpoint(join(runDir, "last-00000024"));
  for (const t of a.tensors) assert.deepEqual(b.tensors.find((u) => u.name === t.name)!.data, t.data, t.name);
});

test("refusals: a --from that is no run, a tokenizer changed since pre-training, data or --valid changed on resume, bad labels", async () => {
  await assert.rejects(
    finetune({ config: config(join(dir, "r1")), from: join(dir, "nowhere") }),
    /nowhere: no such directory/,
  );
  await assert.rejects(finetune({ config: config(join(dir, "r2")), from: dir }), /not a run directory/);
  await assert.rejects(finetune({ config: config(join(dir, "r3")), from: null }), /--from none needs a tokenizer/);
  // a pre-trained run whose best/tokenizer.json was edited after its training
  const edited = join(dir, "edited");
  await train(tinyConfig(dir, { outDir: edited, maxSteps: 2, evalSteps: 2 }));
  const tokPath = join(edited, "best", "tokenizer.json");
  writeFileSync(tokPath, readFileSync(tokPath, "utf8").replace('"[UNK]"', '"[UNKNOWN]"'));
  await assert.rejects(
    finetune({ config: config(join(dir, "r4")), from: edited }),
    /best\/tokenizer\.json: the tokenizer changed since .* was pre-trained/,
  );
  // the data file changed before a resume
  const changing = labelledFile("changing.tsv");
  const runDir = join(dir, "r5");
  const controller = new AbortController();
  await finetune(
    { config: config(runDir, { data: changing }), from: preDir },
    { signal: controller.signal, log: (l) => /^step 4: training loss/.test(l) && controller.abort(new Error("stop")) },
  );
  appendFileSync(changing, "a green cup\tpos\n");
  await assert.rejects(resumeFinetune(runDir), /changing\.tsv.*resuming would continue on other data/);
  // a --valid file changed before a resume: refused in one line naming it; restored, the run resumes
  const validChanging = labelledFile("valid-changing.tsv");
  const original = readFileSync(validChanging, "utf8");
  const validRun = join(dir, "r8");
  const stop = new AbortController();
  await finetune(
    { config: config(validRun, { maxSteps: 8 }), from: preDir, valid: validChanging },
    { signal: stop.signal, log: (l) => /^step 4: training loss/.test(l) && stop.abort(new Error("stop")) },
  );
  appendFileSync(validChanging, "a green cup\tpos\n");
  await assert.rejects(resumeFinetune(validRun), (err: Error) => {
    assert.match(
      err.message,
      /^.*r8: since the run started \(inputs\.json\), the validation file .*valid-changing\.tsv changed: was \d+ bytes .*; resuming would continue on other data/,
    );
    assert.equal(err.message.split("\n").length, 1);
    return true;
  });
  writeFileSync(validChanging, original);
  assert.equal((await resumeFinetune(validRun)).steps, 8);
  // one class; a validation label training never saw
  const single = join(dir, "single.tsv");
  writeFileSync(single, "text\tlabel\na\tx\nb\tx\nc\tx\nd\tx\ne\tx\n");
  await assert.rejects(
    finetune({ config: config(join(dir, "r6"), { data: single }), from: preDir }),
    /every example has the label "x"/,
  );
  const validFile = join(dir, "valid.tsv");
  writeFileSync(validFile, "sentence\tlabel\na red cup\tpos\na pink cup\tmaybe\n");
  await assert.rejects(
    finetune({ config: config(join(dir, "r7")), from: preDir, valid: validFile }),
    /valid\.tsv line 3: label "maybe" was never seen in training/,
  );
});
