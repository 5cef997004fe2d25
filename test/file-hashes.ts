/** What the fault tests compare before and after: every file under a folder, by SHA-256. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * The SHA-256 of every file under `dir` (recursively), by path relative to `dir`, sorted; names in
 * `skip` (e.g. "status.json", a file that is meant to change) are left out.
 *
 * @example
 *   const before = fileHashes("runs/a");
 *   // ... a command that must change nothing ...
 *   assert.deepEqual(fileHashes("runs/a"), before);
 */
export function fileHashes(dir: string, skip: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      if (skip.includes(name)) continue;
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(dir);
  return out;
}
