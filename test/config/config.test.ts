import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { DEFAULT_CONFIG, parseConfigArgs, resolveConfig } from "../../src/config.js";

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
  assert.throws(() => parseConfigArgs(["--batch-sise", "3"]), /Unknown option '--batch-sise'/);
  assert.throws(() => parseConfigArgs(["--batch-size", "three"]), /--batch-size expects a number, got "three"/);
  assert.throws(() => parseConfigArgs(["--batch-size", "0"]), /batchSize must be >= 1, got 0/);
  assert.throws(() => parseConfigArgs(["--batch-size", "2.5"]), /batchSize must be an integer/);
  assert.throws(() => parseConfigArgs(["--format", "csv"]), /format must be one of auto, tsv, txt, jsonl, got "csv"/);
  assert.throws(() => resolveConfig({ dModel: 100, numHeads: 8 }), /divisible by numHeads/);
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
  assert.throws(() => parseConfigArgs(["--config", file]), /dModel \(128\) must be divisible by numHeads \(6\)/);
  assert.throws(() => resolveConfig({ constructor: 5 }), /unknown key "constructor"/);
  assert.throws(() => resolveConfig({ toString: 5 }), /unknown key "toString"/);
});
