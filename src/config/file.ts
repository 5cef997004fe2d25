/**
 * Reading a JSON configuration file (`mlm train --config run.json`): an object of camelCase keys.
 * The keys and values are checked later, against the table; here the file itself: readable, valid
 * JSON (a UTF-8 byte-order mark is allowed), an object, and no number too large for a double, which
 * JSON.parse would silently turn into Infinity.
 *
 * @example
 *   const partial = readConfigFile("run.json");   // { batchSize: 32, shuffle: true }
 *   const config = resolveConfig(partial, "run.json");
 */
import { readFileSync } from "node:fs";

/** Reads `path` as a JSON object; throws a one-line error naming the file and, for a bad number, the key. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1); // editors on Windows save UTF-8 with a BOM
  const infinite: string[] = []; // keys whose number overflowed
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (typeof value === "number" && !Number.isFinite(value)) infinite.push(key);
      return value;
    });
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (infinite.length > 0) {
    const key = infinite[0];
    throw new Error(`${path}: ${key} is ${numberText(text, key)}, beyond the largest number (about 1.8e308)`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object of configuration keys`);
  }
  return parsed as Record<string, unknown>;
}

/** The number written after `"key":` in the file, as written ("1e400"); "infinite" when not found. */
function numberText(text: string, key: string): string {
  const quoted = JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`${quoted}\\s*:\\s*(-?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?)`, "g");
  for (const match of text.matchAll(pattern)) {
    if (!Number.isFinite(Number(match[1]))) return match[1];
  }
  return "infinite";
}
