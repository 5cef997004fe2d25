/** Temporary folders of the tests, removed whether the test passes or fails. */
import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A fresh folder under the system's temporary folder, removed by node:test's `after` hook: at the end
 * of the test that made it (called inside a test), or of the test file (called at its top level).
 * `npm test` fails when a test leaves anything in the temporary folder.
 *
 * @example
 *   test("writes a file", () => {
 *     const dir = tempDir("mlm-example-");
 *     writeFileSync(join(dir, "a.txt"), "a");
 *   });
 */
export function tempDir(prefix = "mlm-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
