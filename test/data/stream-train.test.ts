// Training on a streamed corpus (a folder of a plain and a gzipped file, read into the token cache):
// a run killed after a checkpoint resumes to the losses of an uninterrupted run, its inputs.json holds
// the folder's fingerprint computed while streaming, and a changed file makes a resume refuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { tempDir } from "../temp-dir.js";
import { train } from "../../src/train/trainer.js";
import { corpusFingerprint } from "../../src/data/index.js";
import { tinyConfig, trainUntilKilled, writeTinyCorpus } from "../train/fixtures.js";

test("a streamed folder corpus: killed run resumes to the same losses; a changed file is refused", async () => {
  const dir = tempDir("mlm-stream-train-");
  const lines = readFileSync(writeTinyCorpus(dir), "utf8").trimEnd().split("\n");
  const folder = join(dir, "corpus");
  mkdirSync(folder);
  writeFileSync(join(folder, "a.txt"), lines.slice(0, 150).join("\n") + "\n");
  writeFileSync(join(folder, "b.txt.gz"), gzipSync(lines.slice(150).join("\n") + "\n"));
  const overrides = { data: folder, maxSteps: 60, evalSteps: 10, logSteps: 7, shuffle: true, keepLast: 2 } as const;

  const logs: string[] = [];
  const reference = await train(tinyConfig(dir, { ...overrides, outDir: join(dir, "reference") }), {
    log: (l) => logs.push(l),
  });
  assert.match(logs.join("\n"), /corpus: 2 files \([\d.]+ MB, 1 gzip\), 300 lines, 0 empty; sample 1 by sentence hash/);
  const inputs = JSON.parse(readFileSync(join(dir, "reference", "inputs.json"), "utf8")) as { corpus: unknown };
  assert.deepEqual(inputs.corpus, await corpusFingerprint(folder));

  const killedDir = join(dir, "killed");
  const killedAt = await trainUntilKilled(
    tinyConfig(dir, { ...overrides, outDir: killedDir }),
    join(dir, "config.json"),
    20,
  );
  assert.ok(killedAt < 60);
  const resumed = await train(tinyConfig(dir, { ...overrides, outDir: killedDir }), { resume: killedDir });
  const byStep = (s: typeof reference) => s.evaluations.map((e) => [e.step, e.metrics.loss]);
  assert.deepEqual(byStep(resumed), byStep(reference));

  writeFileSync(join(folder, "b.txt.gz"), gzipSync(lines.slice(151).join("\n") + "\n"));
  await assert.rejects(
    train(tinyConfig(dir, { ...overrides, outDir: killedDir }), { resume: killedDir }),
    (err: Error) => /the corpus .*corpus changed/.test(err.message),
  );
});
