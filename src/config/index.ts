/**
 * The configuration module's public entry (`mlm-ts/config`): the one table of settings and what is
 * derived from it (types, defaults, checks, flags, help), the one resolve, JSON files and arguments.
 *
 * @example
 *   const config = resolveConfig({ maxSteps: 300 });                                   // library use
 *   const { config: fromCli } = parseConfigArgs(["--max-steps", "300", "--pad-to-max"]); // CLI use
 */
export { CONFIG_KEYS, CONFIG_SECTIONS, CONFIG_TABLE, DEFAULT_CONFIG, type TrainConfig } from "./table.js";
export { pickKeys, resolveConfig } from "./resolve.js";
export { readConfigFile } from "./file.js";
export { CONFIG_FILE_FLAG, configHelp, parseConfigArgs, type ConfigArgsOptions, type ParsedArgs } from "./args.js";
export {
  checkValue,
  checkValues,
  closest,
  defaultsOf,
  expected,
  flagName,
  keysOf,
  type Field,
  type FieldTable,
  type ValueOf,
  type ValuesOf,
} from "./fields.js";
export {
  helpLines,
  helpWidth,
  parseFlags,
  placeholder,
  UsageError,
  type HelpOptions,
  type ParsedFlags,
  type ParseFlagsOptions,
} from "./flags.js";
