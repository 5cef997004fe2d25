// The web pages, bundled by esbuild after `tsc`: every folder web/NAME that holds a main.ts becomes
// dist/web/NAME/ with main.js (one ES module: the page's code, the library code it imports and its
// npm dependencies such as uPlot, so nothing is fetched from the internet at run time) beside copies
// of the folder's other files (index.html, styles). Folders without main.ts (shared code) are only
// imported. `node scripts/build-web.js --watch` rebuilds on change.
import { build, context } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const webDir = join(root, "web");
const outRoot = join(root, "dist", "web");
const pages = existsSync(webDir) ? readdirSync(webDir).filter((name) => existsSync(join(webDir, name, "main.ts"))) : [];

for (const page of pages) {
  const from = join(webDir, page);
  const to = join(outRoot, page);
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from)) {
    const path = join(from, file);
    if (statSync(path).isFile() && !file.endsWith(".ts")) cpSync(path, join(to, file));
  }
}
const options = {
  entryPoints: pages.map((page) => ({ in: join(webDir, page, "main.ts"), out: join(page, "main") })),
  outdir: outRoot,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
};
if (process.argv.includes("--watch")) await (await context(options)).watch();
else if (pages.length > 0) await build(options);
