// `mlm` exit codes: 0 for help, 2 for bad arguments (any command), 1 for a failure while running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { captureStderr } from "./capture-stderr.js";

/** Runs main with stderr captured. */
async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const { result, text } = await captureStderr(() => main(argv));
  return { code: result, err: text };
}

test("bad arguments exit with 2 and a one-line message naming what was expected", async () => {
  const cases: [string[], RegExp][] = [
    [["train", "--batch-size", "x"], /^mlm train: --batch-size expects a number, got "x"\n$/],
    [["train", "--no-such-flag"], /^mlm train: Unknown option '--no-such-flag'.* \(see --help\)\n$/],
    [["fill", "--model", "m"], /^mlm fill: expected one TEXT argument \(quote it\), got 0 \(see mlm fill --help\)\n$/],
    [["fill", "a [MASK]", "--model", "m", "--top-k", "0"], /^mlm fill: --top-k expects an integer >= 1, got "0"\n$/],
    [["eval", "--model", "m"], /^mlm eval: give either --data FILE or --split valid/],
    [
      ["eval", "--model", "m", "--data", "x", "--backend", "gpu"],
      /^mlm eval: --backend must be ts or wasm, got "gpu"\n$/,
    ],
    [["runs", "a", "b"], /^mlm runs: expected at most one directory, got 2/],
    [["nonsense"], /^mlm: unknown command "nonsense"/],
  ];
  for (const [argv, message] of cases) {
    const { code, err } = await run(argv);
    assert.equal(code, 2, argv.join(" "));
    assert.match(err, message);
  }
});

test("a failure while running exits with 1; help exits with 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-main-"));
  const { code, err } = await run(["fill", "a [MASK]", "--model", join(dir, "none")]);
  assert.equal(code, 1);
  assert.match(err, /none: no such directory \(expected a run directory or a checkpoint directory\)/);
  assert.equal((await run(["runs", "--help"])).code, 0);
});
