// The flags, the JSON checks and the help text are derived from the configuration table: every key is
// a flag, is checked in a JSON file with its range, and is in the help; a key added to a table gets
// all three without any other code.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CONFIG_TABLE,
  DEFAULT_CONFIG,
  checkValue,
  checkValues,
  configHelp,
  expected,
  flagName,
  helpLines,
  keysOf,
  parseFlags,
  type Field,
  type FieldTable,
  type TrainConfig,
} from "../../src/config/index.js";
import { MODEL_KEYS, modelConfigOf, type ModelConfig } from "../../src/model/config.js";

/** A valid value other than the default, as flag text and as the value it parses to. */
function otherValue(field: Field): { text: string; value: unknown } {
  switch (field.kind) {
    case "boolean":
      return { text: "", value: !field.default };
    case "choice": {
      const choice = field.choices.find((c) => c !== field.default) ?? "";
      return { text: choice, value: choice };
    }
    case "list":
      return { text: "a,b", value: ["a", "b"] };
    case "string":
    case "path":
      return field.nullable ? { text: "none", value: null } : { text: "some/where", value: "some/where" };
    case "int":
    case "number": {
      const base = field.default ?? 1;
      for (const v of [base + 1, base - 1, base / 2, 0.5, 2]) {
        if (v === field.default) continue;
        try {
          checkValue(field, v, "probe");
          return { text: String(v), value: v };
        } catch {
          // not in range; next candidate
        }
      }
      throw new Error(`no other valid value for ${JSON.stringify(field)}`);
    }
  }
}

/** A JSON value the field must refuse: just outside its range, or of another type. */
function badValue(field: Field): unknown {
  if (field.kind === "int" || field.kind === "number") {
    if (field.max !== undefined) return field.max + 1;
    if (field.above !== undefined) return field.above;
    if (field.min !== undefined) return field.min - 1;
    return "12";
  }
  return field.kind === "boolean" ? "yes" : 12;
}

/** The argv that sets `key` to `otherValue`. */
function flagArgs(key: string, field: Field): string[] {
  const { text, value } = otherValue(field);
  if (field.kind === "boolean") return [value ? `--${flagName(key)}` : `--no-${flagName(key)}`];
  return [`--${flagName(key)}`, text];
}

test("every key of the table is a flag, is checked in a JSON file with its range, and is in the help", () => {
  const help = configHelp();
  for (const key of keysOf(CONFIG_TABLE)) {
    const field: Field = CONFIG_TABLE[key];
    const parsed = parseFlags(CONFIG_TABLE, flagArgs(key, field));
    assert.ok(!parsed.help);
    assert.deepEqual(parsed.given, { [key]: otherValue(field).value }, key);
    assert.deepEqual(parsed.values, { ...DEFAULT_CONFIG, [key]: otherValue(field).value }, key);

    const bad = badValue(field);
    assert.throws(
      () => checkValues(CONFIG_TABLE, { [key]: bad }, "run.json"),
      (err: Error) => err.message === `run.json: ${key} must be ${expected(field)}, got ${JSON.stringify(bad)}`,
      key,
    );
    const line = help.split("\n").find((l) => l.includes(`--${flagName(key)} `) || l.includes(`]${flagName(key)} `));
    assert.ok(line !== undefined, `--${flagName(key)} missing from the help`);
    assert.ok(line.includes(field.help), `help of ${key}`);
    assert.equal(line.match(/\(default/g)?.length, 1, `one default on the line of ${key}: ${line}`);
  }
});

test("a key added to a table appears as a flag, is checked in JSON with its range, and is in the help", () => {
  const table = {
    ...CONFIG_TABLE,
    warmupShare: { kind: "number", default: 0.1, min: 0, max: 0.5, help: "share of the steps spent warming up" },
  } as const satisfies FieldTable;
  const parsed = parseFlags(table, ["--warmup-share", "0.25"]);
  assert.ok(!parsed.help);
  const share: number = parsed.values.warmupShare; // typed from the table
  assert.equal(share, 0.25);
  assert.throws(
    () => parseFlags(table, ["--warmup-share", "0.7"]),
    /^Error: --warmup-share must be a number in \[0, 0\.5\], got "0\.7"$/,
  );
  assert.throws(() => parseFlags(table, ["--warmup-shar", "0.2"]), /did you mean --warmup-share\?/);
  assert.throws(
    () => checkValues(table, { warmupShare: -1 }, "run.json"),
    /^Error: run\.json: warmupShare must be a number in \[0, 0\.5\], got -1$/,
  );
  assert.deepEqual(checkValues(table, { warmupShare: 0.5 }, "run.json"), { warmupShare: 0.5 });
  const line = helpLines(table).find((l) => l.includes("--warmup-share"));
  assert.match(line ?? "", /^ {2}--warmup-share N +share of the steps spent warming up \(default: 0\.1\)$/);
});

test("the types are derived from the table", () => {
  const c: TrainConfig = { ...DEFAULT_CONFIG };
  const format: "auto" | "tsv" | "txt" | "jsonl" = c.format;
  const data: string | null = c.data;
  const batchSize: number = c.batchSize;
  // @ts-expect-error -- a choice is not any string
  c.lrSchedule = "exponential";
  // @ts-expect-error -- batchSize is never null
  c.batchSize = null;
  const shape: ModelConfig = modelConfigOf({ dModel: 64, numHeads: 4 });
  // @ts-expect-error -- the model's shape has only the model's keys
  void shape.batchSize;
  assert.deepEqual([format, data, batchSize], ["auto", null, 64]);
  assert.deepEqual(Object.keys(shape), [...MODEL_KEYS]);
});

test("the model's shape takes its defaults, ranges and rules from the table", () => {
  const shape = modelConfigOf({ vocabSize: 50 });
  for (const key of MODEL_KEYS) if (key !== "vocabSize") assert.equal(shape[key], DEFAULT_CONFIG[key], key);
  assert.throws(
    () => modelConfigOf({ dModel: 12, numHeads: 8 }),
    /model config: dModel \(12\) must be a multiple of numHeads \(8\)/,
  );
  assert.throws(() => modelConfigOf({ dropout: 1 }), /model config: dropout must be a number in \[0, 0\.99\], got 1/);
  assert.throws(() => modelConfigOf({ dmodel: 3 }), /unknown key "dmodel" \(did you mean "dModel"\?\)/);
  assert.throws(() => modelConfigOf({ batchSize: 3 }), /unknown key "batchSize" \(model keys: vocabSize, dModel/);
});
