// `mlm eval` on sentences where the masking draws no token: an error naming the file and why
// (exit 1), not a NaN loss with exit 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { train } from "../../src/train/trainer.js";
import { tinyConfig } from "../train/fixtures.js";
import { scratchFolder, startMlm } from "./child.js";

const dir = scratchFolder("mlm-eval-");

test("mlm eval with no masked token exits 1 saying why", async () => {
  const runDir = join(dir, "run");
  await train(tinyConfig(dir, { maxSteps: 5, evalSteps: 5, outDir: runDir }));
  const short = join(dir, "short.txt");
  writeFileSync(short, "cat\ndog\nbird\n");
  const child = startMlm(["eval", "--model", runDir, "--data", short, "--mask-prob", "0.01", "--backend", "ts"]);
  const { code } = await child.exited;
  assert.equal(code, 1);
  assert.equal(child.stdout(), "");
  // Its last line (progress lines of tokenizing and scoring come before it).
  assert.match(
    child.stderr().replace(/^(?:tokenize|eval): .*\n/gm, ""),
    new RegExp(
      /^mlm eval: .*short\.txt: no token was masked in 3 sentences \(only \d+ maskable tokens, /.source +
        /each masked with probability 0\.01, and none was drawn\); /.source +
        /evaluate more or longer sentences or raise --mask-prob\n$/.source,
    ),
  );
});
