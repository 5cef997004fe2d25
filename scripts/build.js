// `npm run build` (also `prepare`, so npm ci, npm pack and `npx mlm` in a clone run it): builds dist/
// without ever pulling it from under a running `mlm` process.
// - Up to date: when dist/BUILD_HASH holds the hash of every input (the sources, web pages, scripts,
//   bundled data, the lock file), nothing is done (`--force` builds anyway).
// - Otherwise everything is built into a fresh folder beside dist/ (tsc, the kernel modules, then the
//   web pages and the browser module), and only a complete build replaces dist/, by two renames: a
//   process started from the old dist/ keeps the files it opened, and any module it imports later is
//   found at the same path in the new one. A failed build leaves dist/ as it was.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const HASH_FILE = "BUILD_HASH";
/** What dist/ is made from, relative to the root: folders are read whole. */
const INPUTS = ["src", "test", "bench", "web", "scripts", "data", "tsconfig.json", "package.json", "package-lock.json"];

/** SHA-256 over the path and bytes of every input file, in sorted order. */
function inputsHash() {
  const hash = createHash("sha256");
  const visit = (path) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
      return;
    }
    hash.update(relative(root, path)).update("\0").update(readFileSync(path)).update("\0");
  };
  for (const input of INPUTS) visit(join(root, input));
  return hash.digest("hex");
}

const hash = inputsHash();
const built = join(dist, HASH_FILE);
if (!process.argv.includes("--force") && existsSync(built) && readFileSync(built, "utf8").trim() === hash) {
  console.error("dist/ is up to date (npm run build -- --force rebuilds it)");
  process.exit(0);
}

const fresh = join(root, `dist.building-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const node = (script, ...args) => execFileSync(process.execPath, [script, ...args], { cwd: root, stdio: "inherit" });
try {
  rmSync(fresh, { recursive: true, force: true });
  node(join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--outDir", fresh);
  node(join(root, "scripts", "build-kernels.js"), "--out", fresh);
  node(join(root, "scripts", "build-web.js"), "--out", fresh);
  node(join(root, "scripts", "build-browser.js"), "--out", fresh);
  writeFileSync(join(fresh, HASH_FILE), hash + "\n");
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(fresh, dist);
} catch (error) {
  rmSync(fresh, { recursive: true, force: true });
  if (!existsSync(dist) && existsSync(old)) renameSync(old, dist);
  if (error.status !== undefined) process.exit(error.status ?? 1); // the failing step printed why
  throw error;
}
rmSync(old, { recursive: true, force: true });
