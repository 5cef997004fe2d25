// A run without --out-dir is named after the second it starts in (runs/<date-time>). The name is
// derived once: with a clock that moves on a second at every reading, a new run that fails before
// its first step (after writing its config.json and tokenizer.json) still removes the folder it made,
// and leaves nothing in runs/. Two runs started in the same second get two folders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { defaultRunDir, newRunDir } from "../../src/run/index.js";
import { train } from "../../src/train/trainer.js";
import { tinyConfig } from "./fixtures.js";

test("a failed start without --out-dir removes the one run folder it made, however the clock moves", async () => {
  const dir = tempDir("mlm-default-dir-");
  mkdirSync(join(dir, "runs")); // runs/ exists: only the run's own folder is made, and must go again
  const RealDate = Date;
  let readings = 0;
  /** Every `new Date()` is one second later than the previous one. */
  class TickingDate extends RealDate {
    constructor(value?: string | number | Date) {
      super(value ?? RealDate.UTC(2026, 0, 1) + 1000 * readings++);
    }
  }
  const cwd = process.cwd();
  process.chdir(dir); // the default run directory is relative: runs/<date-time>
  globalThis.Date = TickingDate as DateConstructor;
  try {
    // No step fits in one epoch: the run fails once its tokenizer and configuration are written.
    const config = { ...tinyConfig(dir, { epochs: 1, gradAccumSteps: 1000 }), outDir: null };
    await assert.rejects(train(config), /nothing to train/);
  } finally {
    globalThis.Date = RealDate;
    process.chdir(cwd);
  }
  assert.ok(readings >= 1, "the run directory's name was derived from the clock");
  assert.deepEqual(readdirSync(join(dir, "runs")), [], "no run folder is left behind");
  assert.ok(existsSync(join(dir, "runs")), "runs/ itself, made before, is kept");
});

test("runs started in the same second get their own folders: runs/<second>, then -2, -3", async () => {
  const dir = tempDir("mlm-same-second-");
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const now = new Date(Date.UTC(2026, 11, 6, 15, 54, 41));
    assert.equal(defaultRunDir(now), join("runs", "2026-12-06_15-54-41"));
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await newRunDir(now);
      mkdirSync(next, { recursive: true });
      made.push(next);
    }
    assert.deepEqual(
      made,
      ["2026-12-06_15-54-41", "2026-12-06_15-54-41-2", "2026-12-06_15-54-41-3"].map((n) => join("runs", n)),
    );
    assert.equal(await newRunDir(new Date(now.getTime() + 1000)), join("runs", "2026-12-06_15-54-42"));
  } finally {
    process.chdir(cwd);
  }
});
