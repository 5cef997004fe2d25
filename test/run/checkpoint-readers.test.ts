// Readers of a run being trained always see one whole checkpoint: 200 reads (the model as `mlm
// fill` and `mlm eval` load it, the newest checkpoint as `mlm export` reads it, best/ itself) while
// a child `mlm train` saves best/ and a new last-*/ at every step (pruning the older ones) never
// fail and always get a checkpoint whose state matches its folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { readExportSource } from "../../src/interop/source.js";
import { loadModel } from "../../src/pipelines/index.js";
import { loadCheckpoint } from "../../src/run/index.js";
import type { TrainState } from "../../src/train/train-state.js";
import { scratchFolder, startMlm } from "../cli/child.js";
import { tinyConfig } from "../train/fixtures.js";

const root = scratchFolder("mlm-readers-");

test("200 reads of a run that checkpoints at every step all get a whole checkpoint", async (t) => {
  const runDir = join(root, "run");
  const configFile = join(root, "run.json");
  const config = tinyConfig(root, { maxSteps: 1_000_000, evalSteps: 1, saveSteps: 1, keepLast: 2, logSteps: 1 });
  writeFileSync(configFile, JSON.stringify({ ...config, progress: true }));
  const child = startMlm(["train", "--config", configFile, "--out-dir", runDir]);
  try {
    await child.waitFor(/step ([3-9]|\d{2,}): training loss/);
    const steps: number[] = [];
    // 200 reads at least, and on until they spanned 5 saves (a loaded machine trains slowly), for at most 20 s.
    const deadline = Date.now() + 20_000;
    const span = (): number => (steps.length === 0 ? 0 : steps.at(-1)! - steps[0]);
    let reads = 0;
    for (let i = 0; i < 200 || (span() < 5 && Date.now() < deadline); i++, reads++) {
      if (i % 3 === 0) {
        const loaded = await loadModel(runDir);
        assert.equal(loaded.checkpointDir, join(runDir, "best"));
        loaded.dispose();
      } else if (i % 3 === 1) {
        const src = await readExportSource(runDir, "latest");
        // last-<step>/ holds that step's state and Adam's moments.
        assert.equal(src.state.step, Number(basename(src.checkpointDir).slice("last-".length)));
        assert.ok(src.optimizer !== undefined);
        steps.push(src.state.step);
      } else {
        const best = await loadCheckpoint<object, TrainState>(join(runDir, "best"), { optimizer: false });
        assert.equal(best.state.bestStep, best.state.step);
      }
    }
    // The reads spanned several saves of both checkpoints (each step saves both, fsyncing every file).
    t.diagnostic(`${reads} reads over steps ${steps[0]} to ${steps.at(-1)}`);
    assert.ok(span() >= 5, `steps read: ${steps[0]} to ${steps.at(-1)}`);
  } finally {
    child.kill("SIGINT");
    await child.exited;
  }
});
