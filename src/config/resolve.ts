/**
 * The one resolve: a partial configuration (a library call, a JSON file, flags) checked key by key
 * against the table, completed with the defaults, then checked as a whole by the rules that tie keys
 * together. The model's shape (a subset of the same keys, src/model/config.ts) resolves through it.
 *
 * @example
 *   const config = resolveConfig({ maxSteps: 300, dModel: 64, numHeads: 4 });
 *   resolveConfig({ dModel: 100 });   // throws "configuration: dModel (100) must be a multiple of numHeads (8)"
 */
import { checkValues } from "./fields.js";
import { CONFIG_TABLE, DEFAULT_CONFIG, type TrainConfig } from "./table.js";
import { RECIPES } from "./recipes.js";
import { parseDuration } from "../util/duration.js";

/**
 * Checks and completes a partial configuration: unknown keys and bad values are refused, missing keys
 * take their recipe's values, then the table's defaults; undefined values count as missing. `source`
 * names where the values came from.
 */
export function resolveConfig(
  partial: Readonly<Partial<TrainConfig>> | Readonly<Record<string, unknown>> = {},
  source = "configuration",
): TrainConfig {
  const given = checkValues(CONFIG_TABLE, partial, source);
  const recipe = RECIPES[given.recipe ?? DEFAULT_CONFIG.recipe];
  const config: TrainConfig = { ...DEFAULT_CONFIG, ...recipe, ...given };
  // The 5% sample is the tutorial's, on the bundled corpus; a corpus of the user's own is used whole.
  if (config.data !== null && given.sample === undefined && !("sample" in recipe)) config.sample = 1;
  checkRules(config, source);
  return config;
}

/** The rules between keys, each checked here and nowhere else. */
function checkRules(c: TrainConfig, source: string): void {
  if (c.dModel % c.numHeads !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be a multiple of numHeads (${c.numHeads})`);
  if (c.dModel % 2 !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be even for the sinusoidal positional encoding`);
  if (c.timeBudget !== null && parseDuration(c.timeBudget) === null)
    throw new Error(`${source}: timeBudget must be a duration such as 90s, 10m or 1h30m, got "${c.timeBudget}"`);
  if (c.maskTokenRate + c.randomTokenRate > 1 + 1e-9) {
    throw new Error(
      `${source}: maskTokenRate + randomTokenRate must be <= 1, got ${c.maskTokenRate} + ${c.randomTokenRate}`,
    );
  }
}

/** The given keys of `config` only. */
export function pickKeys<T extends object, K extends keyof T>(config: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = config[key];
  return out;
}
