// The training bench's whole-schedule run writes a run directory only as a by-product; it must not be
// left behind, also when the run fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchSchedule } from "../../bench/train.js";

test("benchSchedule removes its run directory when the run fails", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "mlm-test-bench-"));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = scratch; // os.tmpdir() reads it on every call
  try {
    // threads -1 is refused by the config check, after the run directory was made
    await assert.rejects(benchSchedule("ts", -1), /threads/);
    assert.deepEqual(readdirSync(scratch), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(scratch, { recursive: true, force: true });
  }
});
