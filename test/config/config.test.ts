import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { DEFAULT_CONFIG, parseConfigArgs, resolveConfig, UsageError } from "../../src/config/index.js";

test("defaults are the tutorial's values", () => {
  const c = resolveConfig();
  assert.equal(c.batchSize, 64);
  assert.equal(c.maskProb, 0.15);
  assert.equal(c.numLayers, 6);
  assert.equal(c.numHeads, 8);
  assert.equal(c.dModel, 128);
  assert.equal(c.dFF, 256);
  assert.equal(c.dropout, 0.1);
  assert.equal(c.maxLen, 128);
  assert.equal(c.vocabSize, 25000);
  assert.equal(c.learningRate, 3e-4);
  assert.equal(c.gradClip, 1);
  assert.equal(c.epochs, 30);
  assert.equal(c.evalSteps, 500);
  assert.equal(c.logSteps, 200);
  assert.equal(c.sample, 0.05);
  assert.equal(c.dataSeed, 42);
});

test("flags override a JSON file, which overrides the defaults", () => {
  const dir = tempDir("mlm-config-");
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ batchSize: 16, shuffle: true, learningRate: 1e-3 }));
  const { config, positionals } = parseConfigArgs([
    "--config",
    file,
    "--batch-size",
    "8",
    "--no-shuffle",
    "corpus.txt",
  ]);
  assert.equal(config.batchSize, 8);
  assert.equal(config.shuffle, false);
  assert.equal(config.learningRate, 1e-3);
  assert.equal(config.epochs, DEFAULT_CONFIG.epochs);
  assert.deepEqual(positionals, ["corpus.txt"]);
});

test("unknown keys and bad values are rejected with what was expected", () => {
  assert.throws(() => resolveConfig({ batch_size: 3 }), /unknown key "batch_size" \(did you mean "batchSize"\?\)/);
  assert.throws(() => resolveConfig({ maxStep: 3 }), /unknown key "maxStep" \(did you mean "maxSteps"\?\)/);
  const flagError = (argv: string[]): string => {
    try {
      parseConfigArgs(argv);
    } catch (err) {
      assert.ok(err instanceof UsageError, `${argv.join(" ")}: ${String(err)}`);
      return err.message;
    }
    throw new Error(`${argv.join(" ")} was accepted`);
  };
  assert.equal(flagError(["--batch-sise", "3"]), "unknown option --batch-sise (did you mean --batch-size?)");
  assert.equal(flagError(["--max-step", "3"]), "unknown option --max-step (did you mean --max-steps?)");
  assert.equal(flagError(["--shufle"]), "unknown option --shufle (did you mean --shuffle?)");
  assert.equal(flagError(["--no-shufle"]), "unknown option --no-shufle (did you mean --no-shuffle?)");
  assert.equal(flagError(["--xyzzy"]), "unknown option --xyzzy");
  assert.equal(flagError(["--batch-size", "three"]), '--batch-size must be an integer >= 1, got "three"');
  assert.equal(flagError(["--batch-size", "-4"]), '--batch-size must be an integer >= 1, got "-4"');
  assert.equal(flagError(["--batch-size=0"]), '--batch-size must be an integer >= 1, got "0"');
  assert.equal(flagError(["--batch-size", "2.5"]), '--batch-size must be an integer >= 1, got "2.5"');
  assert.equal(flagError(["--sample", "1.5"]), '--sample must be a number in (0, 1], got "1.5"');
  assert.equal(flagError(["--batch-size"]), "--batch-size needs a value: N, an integer >= 1");
  assert.equal(flagError(["--out-dir", "--shuffle"]), "--out-dir needs a value: PATH, a non-empty string");
  assert.equal(flagError(["--shuffle=yes"]), '--shuffle takes no value, got "yes"');
  assert.equal(flagError(["--shuffle", "--no-shuffle"]), "--shuffle and --no-shuffle both given");
  assert.equal(flagError(["--format", "csv"]), '--format must be one of auto, tsv, txt, jsonl, got "csv"');
  assert.throws(
    () => resolveConfig({ dModel: 100, numHeads: 8 }),
    /dModel \(100\) must be a multiple of numHeads \(8\)/,
  );
  assert.throws(() => resolveConfig({ dModel: 9, numHeads: 1 }), /dModel \(9\) must be even/);
  assert.throws(() => resolveConfig({ learningRate: Infinity }), /learningRate must be a number > 0, got Infinity/);
  const dir = tempDir("mlm-config-");
  writeFileSync(join(dir, "bad.json"), "{ nope");
  assert.throws(() => parseConfigArgs(["--config", join(dir, "bad.json")]), /bad\.json: not valid JSON/);
});

test("a file and flags valid only together are accepted; names of Object's prototype are unknown keys", () => {
  const dir = tempDir("mlm-config-");
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ numHeads: 6, randomTokenRate: 0.1 }));
  const { config } = parseConfigArgs(["--config", file, "--d-model", "96", "--mask-token-rate", "0.8"]);
  assert.equal(config.dModel, 96);
  assert.equal(config.numHeads, 6);
  assert.equal(config.maskTokenRate + config.randomTokenRate, 0.9);
  assert.throws(
    () => parseConfigArgs(["--config", file]),
    /c\.json: dModel \(128\) must be a multiple of numHeads \(6\)/,
  );
  assert.throws(() => resolveConfig({ constructor: 5 }), /unknown key "constructor"/);
  assert.throws(() => resolveConfig({ toString: 5 }), /unknown key "toString"/);
});

test("a configuration file: a UTF-8 byte-order mark is accepted, an overflowing number is named as written", () => {
  const dir = tempDir("mlm-config-");
  const bom = join(dir, "bom.json");
  writeFileSync(bom, "\uFEFF" + JSON.stringify({ batchSize: 16 }));
  assert.equal(parseConfigArgs(["--config", bom]).config.batchSize, 16);
  const huge = join(dir, "huge.json");
  writeFileSync(huge, '{ "batchSize": 16,\n  "learningRate": 1e400 }');
  assert.throws(
    () => parseConfigArgs(["--config", huge]),
    (err: Error) => err.message === `${huge}: learningRate is 1e400, beyond the largest number (about 1.8e308)`,
  );
  const negative = join(dir, "negative.json");
  writeFileSync(negative, '{ "seed": -2E+999 }');
  assert.throws(() => parseConfigArgs(["--config", negative]), /negative\.json: seed is -2E\+999, beyond the largest/);
  const range = join(dir, "range.json");
  writeFileSync(range, JSON.stringify({ sample: 2 }));
  assert.throws(
    () => parseConfigArgs(["--config", range]),
    (err: Error) => err.message === `${range}: sample must be a number in (0, 1], got 2`,
  );
  const typo = join(dir, "typo.json");
  writeFileSync(typo, JSON.stringify({ learningrate: 0.1 }));
  assert.throws(
    () => parseConfigArgs(["--config", typo]),
    /typo\.json: unknown key "learningrate" \(did you mean "learningRate"\?\)/,
  );
  writeFileSync(typo, "[1, 2]");
  assert.throws(() => parseConfigArgs(["--config", typo]), /typo\.json: expected a JSON object of configuration keys/);
});

test("--help reads nothing: a bad configuration file does not hide the help", () => {
  const parsed = parseConfigArgs(["--config", "/no/such/file.json", "--help"]);
  assert.equal(parsed.help, true);
  assert.deepEqual(parsed.config, { ...DEFAULT_CONFIG });
});

test("a corpus of the user's own is used whole unless a sample is given; the bundled corpus keeps the tutorial's 5%", () => {
  assert.equal(resolveConfig().sample, 0.05);
  assert.equal(resolveConfig({ data: "my-corpus.txt" }).sample, 1);
  assert.equal(resolveConfig({ data: "my-corpus.txt", sample: 0.05 }).sample, 0.05);
  assert.equal(resolveConfig({ data: "my-corpus.txt", recipe: "fast" }).sample, 1);
  // A run's config.json holds the resolved value, so a resume reads the same sample back.
  assert.equal(resolveConfig({ ...resolveConfig({ data: "my-corpus.txt" }) }).sample, 1);
});
