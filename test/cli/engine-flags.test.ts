// The V8 flags the mlm command sets for itself: each one is known to this runtime (V8 prints
// "unrecognized flag" on stderr for one it does not know, as Node 24 does for the relaxed-SIMD flag),
// relaxed SIMD is asked for only where it is off, and the revectorizing flag only on V8 13 or later.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cliEngineFlags } from "../../src/cli/engine-flags.js";

test("every engine flag the mlm command sets is one this runtime knows", () => {
  const flags = cliEngineFlags();
  assert.ok(flags.includes("--no-liftoff"));
  const v8Major = Number(process.versions.v8.split(".")[0]);
  assert.equal(flags.includes("--experimental-wasm-revectorize"), v8Major >= 13);
  for (const flag of flags) {
    const run = spawnSync(process.execPath, [flag, "-e", ""], { encoding: "utf8" });
    assert.equal(run.status, 0, `${flag}: ${run.stderr}`);
    assert.equal(run.stderr, "", flag);
  }
});
