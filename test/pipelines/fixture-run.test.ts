// A run directory written by an earlier version (test/fixtures/run-v0, see its README) must still
// load: the fill-mask predictions and the validation-split evaluation it gave then, it gives now.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fillMask, loadModel } from "../../src/pipelines/index.js";

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/run-v0", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

// What commit 59c8761 printed for this run (`mlm fill ... --top-k 3 --json`, `mlm eval --split valid --json`).
const FILL = [
  { score: 0.07489850481361043, token: 5, token_str: ".", sequence: "the cat. the apple." },
  { score: 0.07175467685296902, token: 33, token_str: "##r", sequence: "the catr the apple." },
  { score: 0.07007239738941322, token: 44, token_str: "the", sequence: "the cat the the apple." },
];
const EVAL = {
  loss: 3.9750558343426934,
  accuracy: 0.034482758620689655,
  top5: 0.22988505747126436,
  tokens: 87,
  sentences: 60,
};

test("a run directory of version 0.1.0 still loads: same fill-mask predictions", async () => {
  const loaded = await loadModel(join(FIXTURE, "run"));
  try {
    const got = fillMask(loaded, "the cat [MASK] the apple .", { topK: 3 });
    assert.equal(got.length, 3);
    for (let i = 0; i < 3; i++) {
      const { score, ...rest } = got[i] as (typeof FILL)[number];
      const { score: want, ...wantRest } = FILL[i];
      assert.deepEqual(rest, wantRest);
      assert.ok(Math.abs(score - want) <= 1e-6 * want, `score ${score} vs ${want}`);
    }
  } finally {
    loaded.dispose();
  }
});

test("a run directory of version 0.1.0 still evaluates on its own validation split", () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-fixture-"));
  try {
    cpSync(FIXTURE, dir, { recursive: true }); // the run's config names its corpus relative to this folder
    const out = JSON.parse(
      execFileSync(process.execPath, [CLI, "eval", "--model", "run", "--split", "valid", "--json"], {
        cwd: dir,
        encoding: "utf8",
      }),
    );
    assert.equal(out.tokens, EVAL.tokens);
    assert.equal(out.sentences, EVAL.sentences);
    assert.equal(out.accuracy, EVAL.accuracy);
    assert.equal(out.top5, EVAL.top5);
    assert.ok(Math.abs(out.loss - EVAL.loss) <= 1e-6, `loss ${out.loss} vs ${EVAL.loss}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
