// Signals in the phases before training and in the commands that save nothing: the first SIGINT or
// SIGTERM stops the work within 2 s with exit code 130 / 143, writing nothing; a second one exits
// at once, even while the first is still being handled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readRunStatus } from "../../src/run/index.js";
import { trainBpeFromSentences } from "../../src/tokenizer/index.js";
import { scratchFolder, srcModuleUrl, startMlm, startScript, writeRandomCorpus } from "./child.js";

const tmp = scratchFolder("mlm-interrupts-");
// 30,000 lines of random words: a tokenizer of 100,000 tokens takes seconds to learn from it.
const corpus = writeRandomCorpus(tmp, 30000);
const tinyModel = ["--max-len", "16", "--d-model", "16", "--num-layers", "1", "--num-heads", "2", "--d-ff", "32"];

test("a second signal exits at once while the first one's work goes on", async () => {
  // A command that never finishes what the first signal starts.
  const script = join(tmp, "busy.mjs");
  writeFileSync(
    script,
    `import { listenForInterrupts } from ${JSON.stringify(srcModuleUrl("cli/interrupts"))};
const interrupts = listenForInterrupts("saving");
interrupts.signal.addEventListener("abort", () => process.stderr.write("aborted: " + interrupts.received.message + "\\n"));
setInterval(() => {}, 1000);
process.stderr.write("ready\\n");
`,
  );
  for (const [signal, code, key] of [
    ["SIGINT", 130, "Ctrl-C"],
    ["SIGTERM", 143, "SIGTERM"],
  ] as const) {
    const child = startScript(script, []);
    await child.waitFor(/ready/);
    child.kill(signal);
    await child.waitFor(/aborted: interrupted by SIG/);
    assert.match(child.stderr(), new RegExp(`${key}: saving \\(${key} again to quit at once\\)`));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.process.exitCode, null, "the first signal alone does not end the process");
    child.kill(signal);
    const exit = await child.exited;
    assert.equal(exit.code, code);
    assert.ok(exit.msAfterKill < 2000, `${exit.msAfterKill} ms`);
    assert.match(child.stderr(), new RegExp(`${signal}: exiting at once`));
  }
});

test("SIGINT while mlm train trains its tokenizer: exit 130 within 2 s, nothing written", async () => {
  const out = join(tmp, "tokenizer-run");
  const child = startMlm([
    "train",
    corpus,
    "--sample",
    "1",
    "--vocab-size",
    "100000",
    "--min-frequency",
    "0",
    ...tinyModel,
    "--cache-dir",
    join(tmp, "cache"),
    "--out-dir",
    out,
  ]);
  await child.waitFor(/random\.txt: txt, 30000 lines/); // read; the tokenizer training starts now
  child.kill("SIGINT");
  const exit = await child.exited;
  assert.equal(exit.code, 130, child.stderr());
  assert.ok(exit.msAfterKill < 2000, `${exit.msAfterKill} ms`);
  assert.doesNotMatch(child.stderr(), /tokenizer: trained/);
  assert.match(child.stderr(), /mlm train: interrupted by SIGINT before training started; nothing to resume\n$/);
  assert.equal(existsSync(out), false);
});

test("SIGINT while mlm train streams a corpus into its token cache: exit 130 within 2 s, no cache folder left", async () => {
  const dir = mkdtempSync(join(tmp, "streamed-"));
  // 200,000 lines (12 MB) of random words with a 300-token vocabulary: the corpus pass takes seconds.
  const big = writeRandomCorpus(dir, 200000, 3);
  const tokenizer = join(dir, "tokenizer.json");
  const lines = readFileSync(big, "utf8").split("\n", 2000);
  trainBpeFromSentences(lines, { vocabSize: 300, maxLength: 16 }).save(tokenizer);
  const cache = join(dir, "cache");
  const out = join(dir, "run");
  const streamFolders = (): string[] =>
    existsSync(cache) ? readdirSync(cache).filter((f) => f.startsWith("stream-")) : [];
  const child = startMlm([
    "train",
    big,
    "--stream",
    "yes",
    "--tokenizer",
    tokenizer,
    ...tinyModel,
    "--cache-dir",
    cache,
    "--out-dir",
    out,
  ]);
  // The corpus pass writes into `stream-<key>.tmp-...` until it is complete.
  const started = Date.now();
  while (!streamFolders().some((f) => f.includes(".tmp-"))) {
    assert.equal(child.process.exitCode, null, `exited before its corpus pass began: ${child.stderr()}`);
    assert.ok(Date.now() - started < 60_000, "no corpus pass after 60 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGINT");
  const exit = await child.exited;
  assert.equal(exit.code, 130, child.stderr());
  assert.ok(exit.msAfterKill < 2000, `${exit.msAfterKill} ms`);
  assert.match(child.stderr(), /mlm train: interrupted by SIGINT before training started; nothing to resume\n$/);
  assert.deepEqual(streamFolders(), [], "neither the unfinished cache folder nor a cache");
  assert.equal(existsSync(out), false);
});

test("SIGTERM during mlm tokenizer train: exit 143 within 2 s, no output file", async () => {
  const out = join(tmp, "tokenizer.json");
  const child = startMlm([
    "tokenizer",
    "train",
    corpus,
    "--vocab-size",
    "100000",
    "--min-frequency",
    "0",
    "--out",
    out,
  ]);
  await child.waitFor(/count words .*random\.txt/); // counted; the merges start now
  child.kill("SIGTERM");
  const exit = await child.exited;
  assert.equal(exit.code, 143, child.stderr());
  assert.ok(exit.msAfterKill < 2000, `${exit.msAfterKill} ms`);
  assert.match(child.stderr(), /mlm tokenizer train: interrupted by SIGTERM; .*tokenizer\.json not written\n$/);
  assert.equal(existsSync(out), false);
});

test("SIGINT during an evaluation: mlm train saves step 0 and exits 130 within 2 s; mlm eval exits 130", async () => {
  const out = join(tmp, "eval-run");
  const small = writeRandomCorpus(mkdtempSync(join(tmp, "small-")), 8000, 2);
  // 95% of 8,000 sentences validate, in batches of 8: the evaluation at step 0 takes seconds.
  const child = startMlm([
    "train",
    small,
    "--sample",
    "1",
    "--train-fraction",
    "0.05",
    "--vocab-size",
    "500",
    ...tinyModel,
    "--batch-size",
    "8",
    "--threads",
    "1",
    "--cache-dir",
    join(tmp, "cache"),
    "--out-dir",
    out,
  ]);
  await child.waitFor(/model: .* parameters/); // the evaluation at step 0 starts now
  child.kill("SIGINT");
  const exit = await child.exited;
  assert.equal(exit.code, 130, child.stderr());
  assert.ok(exit.msAfterKill < 2000, `${exit.msAfterKill} ms`);
  assert.doesNotMatch(child.stderr(), /step 0: validation loss/);
  assert.match(
    child.stderr(),
    /mlm train: interrupted by SIGINT at step 0; checkpoint saved: .*last-00000000; resume with: mlm train --resume .*eval-run\n$/,
  );
  assert.equal((await readRunStatus(out))?.state, "interrupted");
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), "", "nothing logged: the evaluation was cut short");

  // Batches of one sentence: scoring 60,000 of them takes seconds (8,000 can take under one).
  const large = writeRandomCorpus(mkdtempSync(join(tmp, "large-")), 60000, 2);
  const evaluation = startMlm(["eval", "--model", out, "--data", large, "--batch-size", "1", "--threads", "1"]);
  // Scoring (its first progress line, once the sentences are tokenized): a fixed wait could end, on a
  // loaded machine, before the command has its handler (Node's default ends it by the signal).
  await evaluation.waitFor(/tokenize: /);
  evaluation.kill("SIGINT");
  const evalExit = await evaluation.exited;
  assert.equal(evalExit.code, 130, evaluation.stderr());
  assert.ok(evalExit.msAfterKill < 2000, `${evalExit.msAfterKill} ms`);
  assert.match(evaluation.stderr(), /mlm eval: interrupted by SIGINT\n$/);
});
