// The tutorial recipe's losses, held bit for bit. A fixed seed, the bundled corpus and the tutorial's
// settings (5% sample, batch 64, the 6-layer model) must give exactly these 50 training losses and
// this step-50 validation loss on each backend. Any refactoring that changes one bit of the
// arithmetic fails here; a change that means to move them must say why and update the file.
//
// The goldens were written by the code of commit 59c8761 (before the architecture rework).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../../src/config/index.js";
import { readMetrics } from "../../src/track/index.js";
import { train } from "../../src/train/trainer.js";

interface Reference {
  trainLosses: number[];
  validLossStep0: number;
  validLossStep50: number;
}
const GOLDEN = fileURLToPath(new URL("../../../test/fixtures/reference-losses.json", import.meta.url));
const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as Record<"ts" | "wasm", Reference>;

/** The first 50 steps of the tutorial recipe, every training loss logged, evaluated at 0 and 50. */
async function referenceRun(backend: "ts" | "wasm"): Promise<Reference> {
  const dir = mkdtempSync(join(tmpdir(), "mlm-reference-"));
  try {
    const config = resolveConfig({
      maxSteps: 50,
      logSteps: 1,
      evalSteps: 50,
      keepLast: 0,
      backend,
      threads: 2,
      progress: false,
      outDir: join(dir, "run"),
      cacheDir: join(dir, "cache"),
    });
    const summary = await train(config);
    const trainLosses = readMetrics(join(dir, "run", "metrics.jsonl"))
      .filter((r) => r.split === "train")
      .map((r) => r.loss as number);
    const valid = new Map(summary.evaluations.map((e) => [e.step, e.metrics.loss]));
    return { trainLosses, validLossStep0: valid.get(0)!, validLossStep50: valid.get(50)! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const backend of ["wasm", "ts"] as const) {
  test(`tutorial recipe, seed 0, ${backend} kernels: the first 50 training losses and the validation losses are bit-identical`, async () => {
    const got = await referenceRun(backend);
    if (process.env.MLM_WRITE_REFERENCE)
      writeFileSync(`${process.env.MLM_WRITE_REFERENCE}.${backend}.json`, JSON.stringify(got));
    const want = golden[backend];
    assert.equal(got.trainLosses.length, 50);
    for (let i = 0; i < 50; i++)
      assert.ok(
        Object.is(got.trainLosses[i], want.trainLosses[i]),
        `step ${i + 1}: training loss ${got.trainLosses[i]} != ${want.trainLosses[i]}`,
      );
    assert.ok(
      Object.is(got.validLossStep0, want.validLossStep0),
      `step 0: validation loss ${got.validLossStep0} != ${want.validLossStep0}`,
    );
    assert.ok(
      Object.is(got.validLossStep50, want.validLossStep50),
      `step 50: validation loss ${got.validLossStep50} != ${want.validLossStep50}`,
    );
  });
}
