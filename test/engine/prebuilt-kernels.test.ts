// The kernels are assembled at build time (scripts/build-kernels.js), not at run time: the shipped
// modules are exactly what the generators give today (wabt, a devDependency, assembles them again
// here); `mlm train` on the wasm kernels runs without ever resolving wabt (a loader hook makes any
// import of it fail, and is shown to fail on one); the browser bundles hold no wabt; and creating a
// wasm backend changes no V8 flag of the process (the library leaves that to the `mlm` command).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";
import { KERNEL_VARIANTS } from "../../src/engine/wasm/kernel-variants.js";
import { DEFAULT_GEMM } from "../../src/engine/wasm/tiles.js";
import { moduleWat } from "../../src/engine/wasm/wat/module.js";
import { tinySentences } from "../pipelines/tiny-run.js";
import { tempDir } from "../temp-dir.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUILT = join(ROOT, "dist", "src", "engine", "wasm");
const FEATURES = { simd: true, threads: true, relaxed_simd: true, bulk_memory: true };

/** A module registered with --import that fails every resolution of "wabt" (or a file inside it). */
const NO_WABT_HOOK =
  "data:text/javascript," +
  encodeURIComponent(`import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  if (/(^|[\\\\/])wabt([\\\\/]|$)/.test(specifier)) throw new Error("wabt resolved from " + context.parentURL);
  return next(specifier, context);
}\`));`);

test("the shipped kernel modules are what the generators assemble to, byte for byte", async () => {
  const wabt = await wabtInit();
  for (const variant of KERNEL_VARIANTS) {
    const mod = wabt.parseWat(variant.file, moduleWat(DEFAULT_GEMM, variant.fma), FEATURES);
    const fresh = mod.toBinary({}).buffer;
    mod.destroy();
    const shipped = readFileSync(join(BUILT, variant.file));
    assert.ok(Buffer.from(fresh).equals(shipped), `${variant.file} is stale: run npm run build`);
    // kernel-bytes.js, which the library imports, holds the same bytes
    const bytes = (await import(join(BUILT, "kernel-bytes.js"))) as Record<string, string>;
    assert.ok(Buffer.from(bytes[variant.name], "base64").equals(shipped), `kernel-bytes.js ${variant.name}`);
  }
});

test("mlm train --max-steps 1 on the wasm kernels never resolves wabt", () => {
  // the hook works: an import of wabt fails under it
  const probe = spawnSync(
    process.execPath,
    ["--import", NO_WABT_HOOK, "--input-type=module", "-e", 'await import("wabt")'],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  assert.notEqual(probe.status, 0);
  assert.match(probe.stderr, /wabt resolved from/);

  const dir = tempDir("mlm-no-wabt-");
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, tinySentences().join("\n") + "\n");
  const run = join(dir, "run");
  const args = [
    ...["train", corpus, "--max-steps", "1", "--backend", "wasm", "--threads", "2", "--sample", "1"],
    ...["--vocab-size", "80", "--min-frequency", "1", "--d-model", "16", "--num-layers", "1", "--num-heads", "2"],
    ...["--d-ff", "32", "--batch-size", "8", "--no-progress", "--out-dir", run, "--cache-dir", join(dir, "cache")],
  ];
  const res = spawnSync(process.execPath, ["--import", NO_WABT_HOOK, join(ROOT, "bin", "mlm.js"), ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(res.status, 0, `mlm train exited with ${res.status}: ${res.stderr}`);
  const state = readdirSync(run)
    .map((name) => join(run, name, "train_state.json"))
    .find((path) => existsSync(path));
  assert.ok(state !== undefined, `no checkpoint in ${readdirSync(run).join(", ")}`);
  // the command enables relaxed SIMD for its own process: the fused multiply-add kernels ran
  assert.equal((JSON.parse(readFileSync(state, "utf8")) as { kernels: string }).kernels, "wasm-simd-fma");
});

test("the browser bundles hold no wabt", () => {
  const web = join(ROOT, "dist", "web");
  const bundles = [
    join(ROOT, "dist", "browser", "mlm-ts.js"),
    ...readdirSync(web).flatMap((page) =>
      ["main.js", "worker.js"].map((f) => join(web, page, f)).filter((p) => existsSync(p)),
    ),
  ];
  for (const path of bundles) {
    const text = readFileSync(path, "utf8");
    // wabt's emscripten module names itself and its entry points in strings that minifying keeps
    assert.doesNotMatch(text, /wabt|parseWat|WebAssemblyBinaryToolkit/i, path);
  }
  // the kernels are in the package's bundle instead (their base64 text)
  const bundle = readFileSync(bundles[0], "utf8");
  const fma = readFileSync(join(BUILT, "kernels-fma.wasm")).toString("base64");
  assert.ok(bundle.includes(fma), "dist/browser/mlm-ts.js lacks the kernel module");
});

test("creating a wasm backend changes no V8 flag of the process", () => {
  // a fresh child without flags: whether relaxed SIMD validates stays as the runtime started
  const url = new URL("../../src/engine/wasm/wasm-backend.js", import.meta.url).href;
  const code = `const fma = (await import(${JSON.stringify(join(BUILT, "kernel-bytes.js"))})).fma;
    const bytes = Buffer.from(fma, "base64");
    const before = WebAssembly.validate(bytes);
    const { createWasmBackend } = await import(${JSON.stringify(url)});
    const be = await createWasmBackend({ threads: 2 });
    const after = WebAssembly.validate(bytes);
    console.log(JSON.stringify({ before, after, kernels: be.kernels }));
    be.dispose();`;
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 30_000 });
  assert.equal(res.status, 0, res.stderr);
  const got = JSON.parse(res.stdout) as { before: boolean; after: boolean; kernels: string };
  assert.equal(got.after, got.before, "relaxed SIMD was switched on by the library");
  assert.equal(got.kernels, got.before ? "wasm-simd-fma" : "wasm-simd");
});
