// The esbuild settings of every browser bundle (the web pages, the package's browser build), and their
// plugin: Node's built-in modules (node:fs, ...) resolve
// to a module whose every export throws, naming the module and the export, when it is used. The
// library's browser path never calls them (its files, threads and core count go through
// src/platform), but some modules on that path also hold Node-only functions (reading a file by its
// path); their imports stay, and a call that should not happen in a browser says so at once.
// `importers` (optional) collects "importer -> module" for every such import, for the tests.
// The kernel modules' bytes (src/engine/wasm/kernel-bytes.js) exist only in the build's output (dist/,
// or the folder scripts/build.js builds into), written by scripts/build-kernels.js: `builtKernels`
// points the bundles there, so the bytes are inside them.
import { existsSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const NODE = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`);

export function nodeBuiltinsUnavailable(importers) {
  return {
    name: "node-builtins-unavailable",
    setup(build) {
      build.onResolve({ filter: NODE }, (args) => {
        importers?.push(`${args.importer} -> ${args.path}`);
        return { path: args.path.replace(/^node:/, ""), namespace: "node-builtin" };
      });
      build.onLoad({ filter: /.*/, namespace: "node-builtin" }, async (args) => {
        const names = Object.keys(await import(`node:${args.path}`)).filter(
          (n) => n !== "default" && /^[A-Za-z_$][\w$]*$/.test(n),
        );
        const fail = (name) =>
          `() => { throw new Error("${args.path}.${name} is Node-only: not available in a browser"); }`;
        const body = names.map((n) => `export const ${n} = ${fail(n)};`).join("\n");
        const anyName = `(_, name) => () => { throw new Error("${args.path}." + String(name) + " is Node-only: not available in a browser"); }`;
        return { contents: `${body}\nexport default new Proxy({}, { get: ${anyName} });\n`, loader: "js" };
      });
    },
  };
}

/** Resolves src/engine/wasm's `./kernel-bytes.js` to the file the kernel build wrote under `out`. */
export function builtKernels(out = join(ROOT, "dist")) {
  return {
    name: "built-kernels",
    setup(build) {
      build.onResolve({ filter: /^\.\/kernel-bytes\.js$/ }, (args) => {
        const path = join(out, relative(ROOT, dirname(args.importer)), "kernel-bytes.js");
        if (!existsSync(path))
          return { errors: [{ text: `${path} is missing: run scripts/build-kernels.js (npm run build) first` }] };
        return { path };
      });
    },
  };
}

/**
 * Options shared by the browser bundles: one minified ES module per entry, with a source map. `out`:
 * the build's output folder, where the kernel build wrote the kernel modules (default dist/).
 */
export function browserBundleOptions(out) {
  return {
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    logLevel: "warning",
    plugins: [nodeBuiltinsUnavailable(), builtKernels(out)],
  };
}
