/**
 * Command-line flags derived from a setting table: every key is a kebab-case flag (`--batch-size 32`,
 * `--batch-size=32`), booleans are `--shuffle` / `--no-shuffle`, nullable settings take `none`, lists
 * are comma-separated, and `-h` / `--help` is always understood. Values are checked against their
 * field as they are read, so a bad value is reported with its flag and what was expected.
 *
 * @example
 *   const parsed = parseFlags(TABLE, ["corpus.txt", "--steps", "3"], { positionals: true });
 *   if (!parsed.help) parsed.values.steps;   // 3; parsed.given = { steps: 3 }, parsed.positionals = ["corpus.txt"]
 */
import {
  allowsNull,
  checkValue,
  closest,
  expected,
  flagName,
  keysOf,
  defaultsOf,
  type Field,
  type FieldTable,
  type ValuesOf,
} from "./fields.js";

/** Bad command-line arguments: an unknown flag, a missing or bad value. `mlm` exits with 2 for these. */
export class UsageError extends Error {}

export interface ParseFlagsOptions {
  /** Arguments that are not flags are allowed (returned in order); otherwise each is an error. */
  positionals?: boolean;
  /** The command, for the hint of an unknown flag: "mlm train" gives "(see mlm train --help)". */
  command?: string;
}

/** `-h` / `--help` (nothing else is needed then), or the settings. */
export type ParsedFlags<T extends FieldTable> =
  | { help: true }
  | {
      help: false;
      /** Every setting: the flag's value, else the table's default. */
      values: ValuesOf<T>;
      /** Only the settings given on the command line. */
      given: Partial<ValuesOf<T>>;
      positionals: string[];
    };

/** Parses `argv` against `table`; throws a one-line UsageError naming the flag and what was expected. */
export function parseFlags<T extends FieldTable>(
  table: T,
  argv: readonly string[],
  options: ParseFlagsOptions = {},
): ParsedFlags<T> {
  const byFlag = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const key of keysOf(table)) {
    byFlag.set(flagName(key), key);
    const short = table[key].short;
    if (short !== undefined) byShort.set(short, key);
  }
  const hint = options.command === undefined ? "" : ` (see ${options.command} --help)`;
  const given: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (!options.positionals && i + 1 < argv.length)
        throw new UsageError(`unexpected argument "${argv[i + 1]}"${hint}`);
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!isOption(arg)) {
      if (!options.positionals) throw new UsageError(`unexpected argument "${arg}"${hint}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1);
    const inline = eq < 0 || !arg.startsWith("--") ? undefined : arg.slice(eq + 1);
    const shown = arg.startsWith("--") ? `--${name}` : arg;
    let key = arg.startsWith("--") ? byFlag.get(name) : byShort.get(name);
    let value: boolean | undefined;
    if (key === undefined && name.startsWith("no-")) {
      const positive = byFlag.get(name.slice(3));
      if (positive !== undefined && table[positive].kind === "boolean") {
        key = positive;
        value = false;
      }
    }
    if (key === undefined) throw new UsageError(`unknown option ${shown}${suggestion(table, name)}${hint}`);
    const field = table[key];
    if (field.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value, got "${inline}"`);
      const on = value ?? true;
      if (given[key] !== undefined && given[key] !== on)
        throw new UsageError(`--${flagName(key)} and --no-${flagName(key)} both given`);
      given[key] = on;
      continue;
    }
    let text = inline;
    if (text === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2))
        throw new UsageError(`${shown} needs a value: ${placeholder(field)}, ${expected(field)}${hint}`);
      text = next;
      i++;
    }
    given[key] = fromText(field, text, shown);
  }

  if (help) return { help };
  for (const key of keysOf(table)) {
    const field = table[key];
    if (field.required && given[key] === undefined)
      throw new UsageError(`--${flagName(key)} ${placeholder(field)} is required${hint}`);
  }
  const values = { ...defaultsOf(table), ...given } as ValuesOf<T>;
  return { help, values, given: given as Partial<ValuesOf<T>>, positionals };
}

/** "--x" and "-x" are options; "-", "-4" and "-0.5" are values or positionals. */
function isOption(arg: string): boolean {
  return arg.length > 1 && arg.startsWith("-") && !/^-\d|^-\.\d/.test(arg);
}

/** " (did you mean --max-steps?)" for the nearest flag, "" when none is near. */
function suggestion(table: FieldTable, name: string): string {
  const flags: string[] = [];
  for (const key of keysOf(table)) {
    flags.push(flagName(key));
    if (table[key].kind === "boolean") flags.push(`no-${flagName(key)}`);
  }
  const near = closest(name.replace(/^-+/, ""), flags);
  return near === null ? "" : ` (did you mean --${near}?)`;
}

/** Converts a flag's text to a checked value of its field. */
function fromText(field: Field, text: string, flag: string): unknown {
  if (allowsNull(field) && (text === "none" || text === "null")) return null;
  const fail = (): never => {
    throw new UsageError(`${flag} must be ${expected(field)}, got "${text}"`);
  };
  let value: unknown = text;
  if (field.kind === "int" || field.kind === "number") {
    value = text.trim() === "" ? fail() : Number(text);
    if (Number.isNaN(value)) fail();
  } else if (field.kind === "list") {
    value = text.split(",").filter((s) => s.length > 0);
  } else if (text === "" && allowsNull(field)) {
    return null;
  }
  try {
    return checkValue(field, value, flag);
  } catch {
    return fail(); // the message quotes the text as typed
  }
}

/** The value's name in --help: the field's own, else N, PATH, a|b|c, LIST or TEXT. */
export function placeholder(field: Field): string {
  if (field.placeholder !== undefined) return field.placeholder;
  switch (field.kind) {
    case "int":
    case "number":
      return "N";
    case "path":
      return "PATH";
    case "choice":
      return field.choices.join("|");
    case "list":
      return "LIST";
    default:
      return "TEXT";
  }
}

export interface HelpOptions {
  /** Width of the flag column; by default the table's widest flag plus two spaces. */
  width?: number;
  /** Show every boolean as --[no-]x (settings a config file may set either way); else only those on by default. */
  bothForms?: boolean;
  /** End with the "-h, --help" line. */
  withHelp?: boolean;
}

/** The flag column of one field: "-m, --model DIR", "    --json", "--[no-]shuffle", "--batch-size N". */
function flagColumn(key: string, field: Field, bothForms: boolean, shortColumn: boolean): string {
  const short = field.short !== undefined ? `-${field.short}, ` : shortColumn ? "    " : "";
  const flag = flagName(key);
  if (field.kind === "boolean") return short + (bothForms || field.default ? `--[no-]${flag}` : `--${flag}`);
  return `${short}--${flag} ${placeholder(field)}`;
}

/** The default as --help shows it: "(default: 64)", "(default: train one)", "(required)", or "" (null without a meaning). */
function defaultNote(field: Field, bothForms: boolean): string {
  if (field.required) return " (required)";
  if (field.kind === "boolean") return bothForms || field.default ? ` (default: ${field.default ? "on" : "off"})` : "";
  if (field.default === null) return field.none === undefined ? "" : ` (default: ${field.none})`;
  if (Array.isArray(field.default)) return ` (default: ${field.default.join(",") || "none"})`;
  return ` (default: ${String(field.default)})`;
}

const hasShort = (table: FieldTable): boolean => Object.values(table).some((f) => f.short !== undefined);

/** The width of the flag column that fits every field of these tables (and "-h, --help"). */
export function helpWidth(tables: readonly FieldTable[], bothForms = false): number {
  let width = "-h, --help".length;
  for (const table of tables)
    for (const key of keysOf(table))
      width = Math.max(width, flagColumn(key, table[key], bothForms, hasShort(table)).length);
  return width + 2;
}

/** One help line per field: flag, help text and default, aligned. */
export function helpLines(table: FieldTable, options: HelpOptions = {}): string[] {
  const bothForms = options.bothForms ?? false;
  const width = options.width ?? helpWidth([table], bothForms);
  const lines = keysOf(table).map((key) => {
    const field = table[key];
    const column = flagColumn(key, field, bothForms, hasShort(table));
    return `  ${column.padEnd(width)}${field.help}${defaultNote(field, bothForms)}`;
  });
  if (options.withHelp) lines.push(`  ${"-h, --help".padEnd(width)}this help`);
  return lines;
}
