/**
 * Paths from requests, confined: a name is resolved against its folder, symbolic links are followed
 * (realpath), and the result must still lie inside the folder's own real path. `..`, encoded or not,
 * absolute paths and links pointing outside all end in a 404 that names nothing of the disk.
 *
 * @example
 *   await insideFolder("/srv/runs", "demo");           // "/srv/runs/demo"
 *   await insideFolder("/srv/runs", "../etc");         // throws HttpError(404)
 */
import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { HttpError } from "./http.js";

/** The real path of `name` inside `folder` (which must exist); 404 when it is missing or lies outside. */
export async function insideFolder(folder: string, name: string, what = "file"): Promise<string> {
  if (name === "" || name.includes("\0") || isAbsolute(name)) throw new HttpError(404, `no such ${what}`);
  const root = await realpath(folder);
  let real: string;
  try {
    real = await realpath(resolve(root, name));
  } catch {
    throw new HttpError(404, `no such ${what}: ${name}`);
  }
  const rel = relative(root, real);
  if (rel === "" || rel.startsWith(".." + sep) || rel === ".." || isAbsolute(rel))
    throw new HttpError(404, `no such ${what}: ${name}`);
  return real;
}
