/** The version of mlm-ts, from its package.json (for `mlm --version` and the producer field of exports). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../data/paths.js";

/** The version in mlm-ts's package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string }).version;
}
