// Named recipes: defaults < recipe < --config file < flags, the recipe's name kept with the resolved
// values, and "tutorial" exactly the table's defaults (the tutorial's figures stay comparable).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../temp-dir.js";
import { DEFAULT_CONFIG, parseConfigArgs, resolveConfig } from "../../src/config/index.js";
import { RECIPE_NAMES, RECIPES } from "../../src/config/recipes.js";

test('"tutorial" is the defaults and the default recipe; every recipe resolves to a valid configuration', () => {
  assert.equal(DEFAULT_CONFIG.recipe, "tutorial");
  assert.deepEqual(resolveConfig({ recipe: "tutorial" }), resolveConfig({}));
  for (const name of RECIPE_NAMES) {
    const config = resolveConfig({ recipe: name });
    assert.equal(config.recipe, name);
    for (const [key, value] of Object.entries(RECIPES[name]))
      assert.deepEqual(config[key as keyof typeof config], value, key);
  }
});

test("no recipe changes what evaluation depends on: tokenizer settings, split, validation masks, seeds", () => {
  const evaluation = [
    "data",
    "sample",
    "trainFraction",
    "dataSeed",
    "tokenizer",
    "vocabSize",
    "minFrequency",
    "maxLen",
  ];
  const masks = ["maskProb", "maskTokenRate", "randomTokenRate", "seed"];
  for (const name of RECIPE_NAMES)
    for (const key of [...evaluation, ...masks]) assert.ok(!(key in RECIPES[name]), `recipe ${name} sets ${key}`);
  // validation masks are drawn per batch: a recipe that trains on other batches scores 64-sentence ones
  for (const name of RECIPE_NAMES) {
    const c = resolveConfig({ recipe: name });
    assert.equal(c.evalBatchSize ?? c.batchSize, DEFAULT_CONFIG.batchSize, `recipe ${name}'s validation batches`);
  }
});

test("precedence: defaults < recipe < --config file < flags", () => {
  const dir = tempDir("mlm-recipe-");
  const file = join(dir, "c.json");
  const fast = RECIPES.fast;
  // the file overrides one of the recipe's keys; a flag overrides another, and the file's
  writeFileSync(file, JSON.stringify({ recipe: "fast", learningRate: 5e-4, batchSize: 16 }));
  const { config } = parseConfigArgs(["--config", file, "--norm", "post", "--batch-size", "8"]);
  assert.equal(config.recipe, "fast");
  assert.equal(config.learningRate, 5e-4, "file over recipe");
  assert.equal(config.norm, "post", "flag over recipe");
  assert.equal(config.batchSize, 8, "flag over file");
  assert.equal(config.activation, fast.activation, "recipe over defaults");
  assert.equal(config.epochs, DEFAULT_CONFIG.epochs, "defaults where nobody says");
  // the recipe named by a flag applies under the file's keys too
  writeFileSync(file, JSON.stringify({ warmupSteps: 7 }));
  const both = parseConfigArgs(["--config", file, "--recipe", "fast"]).config;
  assert.equal(both.warmupSteps, 7);
  assert.equal(both.tieOutput, fast.tieOutput);
  // a resolved configuration (a run's config.json) resolves to itself: its values win over the recipe
  const saved = resolveConfig({ recipe: "fast", norm: "post" });
  assert.deepEqual(resolveConfig({ ...saved }), saved);
  assert.throws(() => resolveConfig({ recipe: "quick" }), /recipe must be one of tutorial, fast, got "quick"|recipe/);
});
