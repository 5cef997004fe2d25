// The PyTorch export carries the run's training configuration: config.json's "model" holds the run's
// dropout rates (not the inference shape's 0), which mlm_torch.py's model applies place by place;
// "train" holds every key the Python trainer reads, each at the run's value; and an import of the
// export gives back the run's configuration, key by key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfig } from "../../src/config/index.js";
import { exportPytorch, importPytorch, pythonTrainerPath } from "../../src/interop/index.js";
import { RunDirectory } from "../../src/run/index.js";
import { python, trainTinyInteropRun } from "./tiny-interop-run.js";

const DROPOUT_KEYS = ["dropout", "dropoutEmbedding", "dropoutAttention", "dropoutHidden", "dropoutResidual"] as const;

/** The keys of config.json's "train" that mlm_torch.py reads (t["key"], t.get("key"), train_cfg[...]), from its source. */
function keysPythonReads(): string[] {
  const source = readFileSync(pythonTrainerPath(), "utf8");
  const keys = new Set<string>();
  for (const m of source.matchAll(/\b(?:t|train_cfg)(?:\["(\w+)"\]|\.get\("(\w+)")/g)) keys.add(m[1] ?? m[2]);
  return [...keys].sort();
}

test("a PyTorch export carries the run's dropout and training keys; importing it gives back the run's configuration", async () => {
  const { dir, runDir } = await trainTinyInteropRun(20, {
    dropout: 0.1,
    dropoutEmbedding: 0.05,
    dropoutAttention: 0.2,
    weightDecay: 0.01,
    trainMaskProb: 0.3,
  });
  const original = await new RunDirectory(runDir).readConfig();
  const exported = join(dir, "torch");
  await exportPytorch(runDir, exported, "test");
  const cfg = JSON.parse(readFileSync(join(exported, "config.json"), "utf8")) as {
    model: Record<string, unknown>;
    train: Record<string, unknown>;
  };
  for (const key of DROPOUT_KEYS) assert.equal(cfg.model[key], original[key], `model.${key}`);

  const read = keysPythonReads();
  assert.ok(read.length >= 14 && read.includes("learningRate") && read.includes("seed"), read.join(" "));
  for (const key of read) {
    assert.ok(key in cfg.train, `mlm_torch.py reads train.${key}, which the export does not write`);
    if (key !== "totalSteps") assert.equal(cfg.train[key], original[key as keyof TrainConfig], `train.${key}`);
  }

  // The rates the Python model applies, place by place.
  const rates = JSON.parse(
    python(
      [
        "-c",
        `import json, sys; sys.path.insert(0, sys.argv[1]); import mlm_torch as m
cfg = json.load(open(sys.argv[1] + "/config.json")); model = m.load_model(sys.argv[1], cfg); b = model.layers[0]
print(json.dumps({"embedding": model.drop.p, "attention": b.drop_att.p, "hidden": b.ffn.drop.p, "residual": b.drop_res.p}))`,
        exported,
      ],
      ["torch"],
    ),
  ) as Record<string, number>;
  assert.deepEqual(rates, { embedding: 0.05, attention: 0.2, hidden: 0.1, residual: 0.1 });

  // Back as a run: its config.json and its checkpoint's, key by key, are the original's (outDir aside).
  const imported = join(dir, "imported");
  await importPytorch(exported, imported);
  const back = await new RunDirectory(imported).readConfig();
  for (const key of Object.keys(original) as (keyof TrainConfig)[])
    if (key !== "outDir") assert.deepEqual(back[key], original[key], key);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(original).sort());
  const checkpointConfig = (path: string): Record<string, unknown> => {
    const { outDir: _outDir, ...rest } = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    return rest;
  };
  assert.deepEqual(
    checkpointConfig(join(imported, "last-00000020", "config.json")),
    checkpointConfig(join(runDir, "last-00000020", "config.json")),
  );
});
