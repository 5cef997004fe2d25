// Every `mlm` command parses its flags with the same helpers: a mistyped flag gets one line with a
// suggestion, a bad value says what was expected, each help shows each default once, and a
// configuration file's faults are named (exit code 2 for all of these).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { CONFIG_KEYS, flagName } from "../../src/config/index.js";

/** Each command line exits with 2 and prints exactly its one line on stderr. */
async function assertUsageErrors(cases: [string[], string][]): Promise<void> {
  for (const [argv, line] of cases) {
    const { code, err } = await run(argv);
    assert.equal(code, 2, argv.join(" "));
    assert.equal(err, line + "\n");
  }
}

/** Runs main with stdout and stderr captured. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = (chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  };
  process.stderr.write = (chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  };
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

test("a mistyped flag of any command: one line with a suggestion, exit code 2", async () => {
  const cases: [string[], string][] = [
    [
      ["train", "--max-step", "3"],
      "mlm train: unknown option --max-step (did you mean --max-steps?) (see mlm train --help)",
    ],
    [
      ["train", "--no-shufle"],
      "mlm train: unknown option --no-shufle (did you mean --no-shuffle?) (see mlm train --help)",
    ],
    [
      ["tokenizer", "train", "x.txt", "--vocab", "10"],
      "mlm tokenizer train: unknown option --vocab (did you mean --vocab-size?) (see mlm tokenizer train --help)",
    ],
    [["download", "--forse"], "mlm download: unknown option --forse (did you mean --force?) (see mlm download --help)"],
    [
      ["fill", "a [MASK]", "--top_k", "3"],
      "mlm fill: unknown option --top_k (did you mean --top-k?) (see mlm fill --help)",
    ],
    [["eval", "--modle", "m"], "mlm eval: unknown option --modle (did you mean --model?) (see mlm eval --help)"],
    [["runs", "--jsno"], "mlm runs: unknown option --jsno (did you mean --json?) (see mlm runs --help)"],
    [["runs", "-x"], "mlm runs: unknown option -x (see mlm runs --help)"],
  ];
  await assertUsageErrors(cases);
});

test("a bad value says what was expected, negative numbers included", async () => {
  const cases: [string[], string][] = [
    [["train", "--batch-size", "-4"], 'mlm train: --batch-size must be an integer >= 1, got "-4"'],
    [["train", "--learning-rate", "-1e-3"], 'mlm train: --learning-rate must be a number > 0, got "-1e-3"'],
    [
      ["train", "--lr-schedule", "step"],
      'mlm train: --lr-schedule must be one of constant, linear, cosine, got "step"',
    ],
    [
      ["tokenizer", "train", "x.txt", "--out", "t.json", "--vocab-size", "-4"],
      'mlm tokenizer train: --vocab-size must be an integer >= 1, got "-4"',
    ],
    [["eval", "-m", "m", "--data", "x", "--sample", "0"], 'mlm eval: --sample must be a number in (0, 1], got "0"'],
    [["fill", "a [MASK]", "-m", "m", "-k", "-1"], 'mlm fill: -k must be an integer >= 1, got "-1"'],
    [["download", "--url"], "mlm download: --url needs a value: URL, a non-empty string (see mlm download --help)"],
  ];
  await assertUsageErrors(cases);
});

test("each command's help shows each default once, and mlm train's lists every configuration key", async () => {
  const commands = [["train"], ["tokenizer", "train"], ["download"], ["fill"], ["eval"], ["runs"]];
  for (const command of commands) {
    const { code, out } = await run([...command, "--help"]);
    assert.equal(code, 0, command.join(" "));
    const name = `mlm ${command.join(" ")}`;
    assert.ok(out.startsWith(`Usage: ${name}`), name);
    for (const line of out.split("\n")) {
      assert.ok((line.match(/\(default/g) ?? []).length <= 1, `${name}: ${line}`);
      assert.ok(
        !/\bdefault \S/.test(line) || /\(default: /.test(line),
        `${name}: a default outside the table: ${line}`,
      );
    }
    assert.match(out, /^ {2}-h, --help +this help$/m, name);
  }
  const train = (await run(["train", "--help"])).out;
  for (const key of CONFIG_KEYS)
    assert.match(train, new RegExp(`--(\\[no-\\])?${flagName(key)}\\b`), `--${flagName(key)} in mlm train --help`);
  assert.match(train, /--tokenizer PATH +existing tokenizer\.json \(default: train one\)$/m);
  assert.match(train, /--batch-size N +sentences per batch \(default: 64\)$/m);
});

test("configuration file faults: named, with the number as written; a byte-order mark is fine", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-flags-"));
  try {
    const huge = join(dir, "huge.json");
    writeFileSync(huge, '{"learningRate": 1e400}');
    let r = await run(["train", "--config", huge]);
    assert.equal(r.code, 2);
    assert.equal(r.err, `mlm train: ${huge}: learningRate is 1e400, beyond the largest number (about 1.8e308)\n`);
    // With a byte-order mark the file parses: the error is about its value, not its first character.
    const bom = join(dir, "bom.json");
    writeFileSync(bom, '\uFEFF{"batchSize": 0}');
    r = await run(["train", "--config", bom]);
    assert.equal(r.code, 2);
    assert.equal(r.err, `mlm train: ${bom}: batchSize must be an integer >= 1, got 0\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
