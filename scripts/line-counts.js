// `npm run lint` ends with this: the lines of source (.ts, .js, .py) per folder of src/, web/, test/,
// bench/ and scripts/, as a tree, each folder with its own files' lines and, when it has subfolders,
// the lines of all it holds. A mirror of where the code is, not a limit: it never fails.
//
//   node scripts/line-counts.js            # the tree
//   node scripts/line-counts.js src/train  # one folder's
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = /\.(ts|js|mjs|py)$/;
const SKIP = new Set(["node_modules", "dist", "fixtures", ".git"]);

/** Lines of a text file (a last line without a newline counts). */
function linesOf(path) {
  const text = readFileSync(path, "utf8");
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** A folder's own lines and files, its subfolders, and its total. */
function countFolder(dir) {
  const folder = { dir, own: 0, files: 0, children: [], total: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const child = countFolder(path);
      if (child.total > 0) folder.children.push(child);
    } else if (entry.isFile() && SOURCE.test(entry.name)) {
      folder.own += linesOf(path);
      folder.files++;
    }
  }
  folder.total = folder.own + folder.children.reduce((sum, c) => sum + c.total, 0);
  return folder;
}

const number = (n) => n.toLocaleString("en-US");

function print(folder, depth, out) {
  const name = `${"  ".repeat(depth)}${relative(ROOT, folder.dir) || "."}/`;
  const files = `${String(folder.files).padStart(3)} file${folder.files === 1 ? " " : "s"}`;
  const own = `${number(folder.own).padStart(7)} lines in ${files}`;
  const total = folder.children.length > 0 ? `   (${number(folder.total)} with subfolders)` : "";
  out.push(`${name.padEnd(34)} ${own}${total}`);
  for (const child of folder.children) print(child, depth + 1, out);
}

const roots = process.argv.length > 2 ? process.argv.slice(2) : ["src", "web", "test", "bench", "scripts"];
const out = ["Lines of source per folder (a mirror, not a limit):"];
for (const root of roots) print(countFolder(join(ROOT, root)), 0, out);
process.stdout.write(out.join("\n") + "\n");
