/**
 * Setting tables: each setting declared once as a field (kind, default, range, help), from which the
 * value types, the value checks, the command-line flags and the help text are all derived. The
 * training configuration is one such table; each `mlm` command's own flags are small tables of the
 * same shape. This module is plain data and functions (no Node modules), usable in any layer.
 *
 * @example
 *   const TABLE = {
 *     steps: { kind: "int", default: 10, min: 1, help: "steps to run" },
 *     mode: { kind: "choice", choices: ["fast", "exact"], default: "fast", help: "kernels" },
 *   } as const satisfies FieldTable;
 *   type Settings = ValuesOf<typeof TABLE>;          // { steps: number; mode: "fast" | "exact" }
 *   checkValue(TABLE.steps, 0, "steps");             // throws "steps must be an integer >= 1, got 0"
 */

interface FieldBase {
  /** One line for --help saying what the value means; never its default, which the help adds. */
  help: string;
  /** A one-letter alias on the command line (`-m` for `--model`). */
  short?: string;
  /** The value's name in --help (N, PATH, DIR, ...); by default derived from the kind. */
  placeholder?: string;
  /** Null is a valid value (always so when the default is null); `none` or `null` on the command line. */
  nullable?: boolean;
  /** What a null default means, shown as the default in --help ("train one"); without it, none is shown. */
  none?: string;
  /** The command cannot run without it; its default is null, and parsing fails when it is not given. */
  required?: boolean;
}

export interface BooleanField extends FieldBase {
  kind: "boolean";
  default: boolean;
}

export interface NumberField extends FieldBase {
  /** "int": a whole number; "number": any finite number. */
  kind: "int" | "number";
  default: number | null;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
}

export interface TextField extends FieldBase {
  /** A non-empty string; "path" only changes the placeholder of --help. */
  kind: "string" | "path";
  default: string | null;
}

export interface ChoiceField extends FieldBase {
  kind: "choice";
  choices: readonly string[];
  default: string | null;
}

export interface ListField extends FieldBase {
  /** Strings; comma-separated on the command line, an array in JSON. */
  kind: "list";
  default: readonly string[];
}

export type Field = BooleanField | NumberField | TextField | ChoiceField | ListField;

/** Settings by name (camelCase; the flag is its kebab-case form). */
export type FieldTable = Readonly<Record<string, Field>>;

type BaseValue<F> = F extends { kind: "boolean" }
  ? boolean
  : F extends { kind: "int" | "number" }
    ? number
    : F extends { choices: readonly (infer C)[] }
      ? C
      : F extends { kind: "list" }
        ? string[]
        : string;

/**
 * The type of one field's values: from its kind, plus null when its default is null or it is nullable
 * (except for required fields, whose null default only stands for "not given yet").
 */
export type ValueOf<F> =
  | BaseValue<F>
  | (F extends { required: true }
      ? never
      : F extends { default: null }
        ? null
        : F extends { nullable: true }
          ? null
          : never);

/** The settings object a table describes. */
export type ValuesOf<T> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/** The keys of a table, in declaration order. */
export function keysOf<T extends FieldTable>(table: T): (keyof T & string)[] {
  return Object.keys(table);
}

/** The table's defaults as a settings object (lists copied, so callers may change them). */
export function defaultsOf<T extends FieldTable>(table: T): ValuesOf<T> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(table))
    out[key] = Array.isArray(field.default) ? [...(field.default as string[])] : field.default;
  return out as ValuesOf<T>;
}

/** "batchSize" -> "batch-size", "dFF" -> "d-ff". */
export function flagName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z]+)/g, "$1-$2").toLowerCase();
}

/** Whether null is a valid value of the field. */
export function allowsNull(field: Field): boolean {
  return field.default === null || field.nullable === true;
}

/** What a valid value looks like, for error messages: "an integer >= 1", "a number in (0, 1]", ... */
export function expected(field: Field): string {
  switch (field.kind) {
    case "boolean":
      return "true or false";
    case "string":
    case "path":
      return "a non-empty string";
    case "choice":
      return `one of ${field.choices.join(", ")}`;
    case "list":
      return "a list of non-empty strings";
    case "int":
    case "number": {
      const what = field.kind === "int" ? "an integer" : "a number";
      const low = field.above !== undefined ? `(${field.above}` : field.min !== undefined ? `[${field.min}` : null;
      if (low !== null && field.max !== undefined) return `${what} in ${low}, ${field.max}]`;
      if (field.above !== undefined) return `${what} > ${field.above}`;
      if (field.min !== undefined) return `${what} >= ${field.min}`;
      if (field.max !== undefined) return `${what} <= ${field.max}`;
      return field.kind === "int" ? "an integer" : "a finite number";
    }
  }
}

/** A value as the user wrote it: numbers as numbers (Infinity, not JSON's null), the rest as JSON. */
export function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
}

/**
 * Checks one value against its field and returns it (lists copied). `where` names the setting in the
 * message: `--batch-size`, or `run.json: batchSize`. Null is accepted only where the field allows it.
 */
export function checkValue(field: Field, value: unknown, where: string): unknown {
  if (value === null) {
    if (allowsNull(field)) return null;
    throw new Error(`${where} must be ${expected(field)}, got null`);
  }
  const fail = (): never => {
    throw new Error(`${where} must be ${expected(field)}, got ${shown(value)}`);
  };
  switch (field.kind) {
    case "boolean":
      return typeof value === "boolean" ? value : fail();
    case "string":
    case "path":
      return typeof value === "string" && value !== "" ? value : fail();
    case "choice":
      return typeof value === "string" && field.choices.includes(value) ? value : fail();
    case "list":
      if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && s !== "")) fail();
      return [...(value as string[])];
    case "int":
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return fail();
      if (field.kind === "int" && !Number.isInteger(value)) fail();
      if (field.min !== undefined && value < field.min) fail();
      if (field.above !== undefined && value <= field.above) fail();
      if (field.max !== undefined && value > field.max) fail();
      return value;
    }
  }
}

/**
 * Checks every key and value of `values` against the table (unknown keys rejected, with a suggestion);
 * undefined values are dropped. Names in messages are `source: key`.
 */
export function checkValues<T extends FieldTable>(
  table: T,
  values: Readonly<Record<string, unknown>>,
  source: string,
): Partial<ValuesOf<T>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!Object.hasOwn(table, key)) {
      const near = closest(key, keysOf(table));
      throw new Error(`${source}: unknown key "${key}"${near === null ? "" : ` (did you mean "${near}"?)`}`);
    }
    if (value !== undefined) out[key] = checkValue(table[key], value, `${source}: ${key}`);
  }
  return out as Partial<ValuesOf<T>>;
}

/**
 * The candidate a mistyped name most likely meant: the same name up to case, "-" and "_", else the
 * nearest by edit distance when it is at most 2 (1 for names of up to 4 letters), else the only
 * candidate the name begins (3 letters at least); null when none is near.
 */
export function closest(name: string, candidates: readonly string[]): string | null {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, "");
  const target = norm(name);
  const same = candidates.find((c) => norm(c) === target);
  if (same !== undefined) return same;
  let best: string | null = null;
  let bestDistance = target.length <= 4 ? 1 : 2;
  for (const c of candidates) {
    const d = editDistance(target, norm(c));
    if (d <= bestDistance && (best === null || d < bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== null || target.length < 3) return best;
  const extended = candidates.filter((c) => norm(c).startsWith(target));
  return extended.length === 1 ? extended[0] : null;
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours ("jsno" -> "json": 1). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length][b.length];
}
