/**
 * `mlm train`-style arguments: every configuration key as a flag, `--config FILE.json` under them, and
 * the command's own flags (a small table of the same shape). Priority, lowest first: the table's
 * defaults, the JSON file, the flags.
 *
 * @example
 *   const { config, positionals } = parseConfigArgs(["corpus.txt", "--max-steps", "300", "--pad-to-max"]);
 */
import { checkValues, defaultsOf, keysOf, type Field, type FieldTable, type ValuesOf } from "./fields.js";
import { helpLines, helpWidth, parseFlags } from "./flags.js";
import { readConfigFile } from "./file.js";
import { pickKeys, resolveConfig } from "./resolve.js";
import { CONFIG_KEYS, CONFIG_SECTIONS, CONFIG_TABLE, DEFAULT_CONFIG, type TrainConfig } from "./table.js";

/** The flag that reads settings from a JSON file; the other flags override it. */
export const CONFIG_FILE_FLAG = {
  config: {
    kind: "path",
    default: null,
    placeholder: "FILE.json",
    help: "settings as a JSON object (camelCase keys); flags override it",
  },
} as const satisfies FieldTable;

export interface ConfigArgsOptions<E extends FieldTable> {
  /** The command's own flags, besides the configuration's. */
  flags?: E;
  /** The command ("mlm train"), for the hint of an unknown flag. */
  command?: string;
}

export interface ParsedArgs<E extends FieldTable = Record<never, never>> {
  /** The complete, checked configuration (the defaults when `help` is set: nothing is read then). */
  config: TrainConfig;
  /** Arguments that are not flags (e.g. the corpus path). */
  positionals: string[];
  /** Values of the command's own flags. */
  extra: ValuesOf<E>;
  /** The keys set explicitly, by the JSON file or by flags. */
  given: Partial<TrainConfig>;
  /** `-h` or `--help` was given. */
  help: boolean;
}

/** Parses arguments into a configuration; throws a one-line error naming the flag, file or key. */
export function parseConfigArgs<E extends FieldTable = Record<never, never>>(
  argv: readonly string[],
  options: ConfigArgsOptions<E> = {},
): ParsedArgs<E> {
  const extraTable = options.flags ?? ({} as E);
  const clash = keysOf(extraTable).find((k) => Object.hasOwn(CONFIG_TABLE, k) || k === "config");
  if (clash !== undefined) throw new Error(`parseConfigArgs: the command's flag "${clash}" is a configuration key`);
  const table: FieldTable = { ...CONFIG_FILE_FLAG, ...extraTable, ...CONFIG_TABLE };
  const parsed = parseFlags(table, argv, { positionals: true, command: options.command });
  if (parsed.help) {
    const extra = defaultsOf(extraTable);
    return { config: { ...DEFAULT_CONFIG }, positionals: [], extra, given: {}, help: true };
  }
  const extra = pickKeys(parsed.values, keysOf(extraTable)) as ValuesOf<E>;
  const fromFlags: Record<string, unknown> = pickKeys(parsed.given, CONFIG_KEYS);
  for (const key of CONFIG_KEYS) if (fromFlags[key] === undefined) delete fromFlags[key];

  const file = parsed.values.config as string | null;
  // The file's keys are checked one by one here; the rules between keys once the flags are on top.
  // A run's config.json works as a config file: its format marker is not a setting.
  const { formatVersion: _format, ...fileKeys } = file === null ? {} : readConfigFile(file);
  const fromFile = file === null ? {} : checkValues(CONFIG_TABLE, fileKeys, file);
  const flagsGiven = Object.keys(fromFlags).length > 0;
  const source = file === null ? "command line" : flagsGiven ? `${file} and the command line` : file;
  const given = { ...fromFile, ...fromFlags } as Partial<TrainConfig>;
  const config = resolveConfig(given, source);
  return { config, positionals: parsed.positionals, extra, given, help: false };
}

/**
 * The options part of `mlm train --help`: the command's flags, then the configuration by section.
 * `defaults`: where the command's defaults differ from the table's (`mlm train` shows progress).
 */
export function configHelp(extra: FieldTable = {}, defaults: Partial<TrainConfig> = {}): string {
  const head = { ...CONFIG_FILE_FLAG, ...extra };
  const width = helpWidth([head, ...CONFIG_SECTIONS.map((s) => s.fields)], true);
  const lines = ["Options:", ...helpLines(head, { width, bothForms: true, withHelp: true })];
  for (const section of CONFIG_SECTIONS) {
    const fields: Record<string, Field> = { ...section.fields };
    for (const key of keysOf(section.fields))
      if (Object.hasOwn(defaults, key))
        fields[key] = { ...fields[key], default: defaults[key as keyof TrainConfig] } as Field;
    lines.push("", `${section.title}:`, ...helpLines(fields, { width, bothForms: true }));
  }
  return lines.join("\n") + "\n";
}
