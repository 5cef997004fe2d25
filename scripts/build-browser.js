// The package's browser build ("mlm-ts/browser"): src/browser.ts bundled by esbuild into one ES module,
// dist/browser/mlm-ts.js, with its npm dependency (crc-32) and the prebuilt kernel modules inside, so
// that a bundler or a <script type="module"> needs nothing else. Node's built-in modules resolve to throwing stubs (see
// browser-bundle.js). With --size, prints the size of the module, raw and gzipped; `--out DIR` builds
// into DIR/browser instead of dist/browser.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { browserBundleOptions } from "./browser-bundle.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : join(root, "dist");
const outfile = join(out, "browser", "mlm-ts.js");
await build({ ...browserBundleOptions(out), entryPoints: [join(root, "src", "browser.ts")], outfile });
const bytes = readFileSync(outfile);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
if (process.argv.includes("--size"))
  console.log(`dist/browser/mlm-ts.js: ${kib(bytes.length)}, ${kib(gzipSync(bytes).length)} gzipped`);
