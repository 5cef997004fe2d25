/** The JSON files of a run directory: one way to write them and one to read them back with clear errors. */
import type { Storage } from "../platform/index.js";

/** `value` as the text of a JSON file (indented, final newline); throws unless it is a JSON object. */
export function jsonObjectText(value: unknown, what: string): string {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined || typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object`);
  }
  return text + "\n";
}

/** Reads a file holding one JSON object; throws a one-line error naming the file otherwise. */
export async function readJsonObject(storage: Storage, path: string): Promise<Record<string, unknown>> {
  const text = await storage.readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message}); expected a JSON object`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}
