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

/**
 * Checks and completes a partial configuration: unknown keys and bad values are refused, missing keys
 * take their defaults, undefined values count as missing. `source` names where the values came from.
 */
export function resolveConfig(
  partial: Readonly<Partial<TrainConfig>> | Readonly<Record<string, unknown>> = {},
  source = "configuration",
): TrainConfig {
  const config: TrainConfig = { ...DEFAULT_CONFIG, ...checkValues(CONFIG_TABLE, partial, source) };
  checkRules(config, source);
  return config;
}

/** The rules between keys, each checked here and nowhere else. */
function checkRules(c: TrainConfig, source: string): void {
  if (c.dModel % c.numHeads !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be a multiple of numHeads (${c.numHeads})`);
  if (c.dModel % 2 !== 0)
    throw new Error(`${source}: dModel (${c.dModel}) must be even for the sinusoidal positional encoding`);
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
