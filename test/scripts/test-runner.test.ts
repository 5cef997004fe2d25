// `npm test`'s runner (scripts/test.js): a test file that leaves a temporary folder behind fails the
// suite, naming it; one that removes what it made passes. The runner's own temporary folder goes too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../temp-dir.js";

const RUNNER = fileURLToPath(new URL("../../../scripts/test.js", import.meta.url));

function runTests(file: string, tmp: string): Promise<{ code: number; err: string }> {
  return new Promise((done) => {
    // Without NODE_TEST_CONTEXT, which would make the inner test runner report to this one.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    execFile(process.execPath, [RUNNER, file], { env: { ...env, TMPDIR: tmp } }, (error, _out, err) =>
      done({ code: error === null ? 0 : Number(error.code), err }),
    );
  });
}

test("the test runner fails when a test leaves a temporary folder behind, and passes when none is left", async () => {
  const dir = tempDir("mlm-runner-");
  const testFile = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(
      path,
      `import { test } from "node:test";\nimport { mkdtempSync, rmSync } from "node:fs";\n` +
        `import { tmpdir } from "node:os";\nimport { join } from "node:path";\ntest("t", () => { ${body} });\n`,
    );
    return path;
  };
  const tmp = tempDir("mlm-runner-tmp-");
  const leaky = await runTests(testFile("leaky.test.mjs", `mkdtempSync(join(tmpdir(), "leaked-"));`), tmp);
  assert.equal(leaky.code, 1);
  assert.match(leaky.err, /the tests left 1 temporary entry behind .*: leaked-\w+\n$/);
  const tidy = await runTests(
    testFile("tidy.test.mjs", `rmSync(mkdtempSync(join(tmpdir(), "tidy-")), { recursive: true });`),
    tmp,
  );
  assert.equal(tidy.code, 0, tidy.err);
  assert.deepEqual(readdirSync(tmp), []);
});
