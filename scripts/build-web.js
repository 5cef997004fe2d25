// The web pages, bundled by esbuild after `tsc`: every folder web/NAME that holds a main.ts becomes
// dist/web/NAME/ with main.js (one ES module: the page's code, the library code it imports and its
// npm dependencies such as uPlot, so nothing is fetched from the internet at run time), worker.js when
// the folder has a worker.ts (a module Worker's code), beside copies of the folder's other files
// (index.html, styles) and of the data files its `assets.json` lists. Folders without main.ts (shared
// code) are only imported. `node scripts/build-web.js --watch` rebuilds on change; `--out DIR` builds
// into DIR/web instead of dist/web (scripts/build.js builds into a fresh folder).
import { build, context } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { browserBundleOptions } from "./browser-bundle.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const webDir = join(root, "web");
const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : join(root, "dist");
const outRoot = join(out, "web");
const pages = existsSync(webDir) ? readdirSync(webDir).filter((name) => existsSync(join(webDir, name, "main.ts"))) : [];

for (const page of pages) {
  const from = join(webDir, page);
  const to = join(outRoot, page);
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from)) {
    const path = join(from, file);
    if (statSync(path).isFile() && !file.endsWith(".ts") && file !== "assets.json") cpSync(path, join(to, file));
  }
  // assets.json: ["data/tatoeba-en.txt", ...], paths from the repository root, copied by their names,
  // and the list itself beside them: the package leaves the copies out (the files are in its data/), and
  // the studio's server then serves each from the path the list names.
  const assets = join(from, "assets.json");
  if (existsSync(assets)) {
    for (const asset of JSON.parse(readFileSync(assets, "utf8")))
      cpSync(join(root, asset), join(to, asset.split("/").pop()));
    cpSync(assets, join(to, "assets.json"));
  }
}
const entries = pages.flatMap((page) =>
  ["main", "worker"]
    .filter((name) => existsSync(join(webDir, page, `${name}.ts`)))
    .map((name) => ({ in: join(webDir, page, `${name}.ts`), out: join(page, name) })),
);
const options = { ...browserBundleOptions(out), entryPoints: entries, outdir: outRoot };
if (process.argv.includes("--watch")) await (await context(options)).watch();
else if (pages.length > 0) await build(options);
