// `npm test` after the build: the Node test runner over dist/test, two test files at a time (the
// browser, PyTorch and child-process suites spend much of their time waiting, so two keep a 2-core
// machine busy), or over the paths given (as in
// `npm test -- dist/test/cli/main.test.js`) with the temporary folder (TMPDIR) pointed at a fresh,
// empty one, then a check that the tests removed everything they made there: a test that leaves a
// temporary file or folder behind fails the suite, naming what was left. Folders are given to the runner
// as their *.test.js files: Node 20 runs a folder's tests, Node 22 and later take a folder for a script.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The test files of `path`: itself when a file, else its *.test.js files, recursively, in name order. */
const testFiles = (path) =>
  statSync(path).isDirectory()
    ? readdirSync(path)
        .sort()
        .flatMap((name) => {
          const child = join(path, name);
          return statSync(child).isDirectory() ? testFiles(child) : name.endsWith(".test.js") ? [child] : [];
        })
    : [path];
const args = process.argv.slice(2);
const paths = (args.length > 0 ? args : [join(root, "dist", "test")]).flatMap(testFiles);
const temp = mkdtempSync(join(tmpdir(), "mlm-ts-tests-"));
// Traversable by every user, as /tmp is: a test runs a child as an unprivileged user inside it.
chmodSync(temp, 0o755);
// The library sets no V8 flag; the test processes run with relaxed SIMD as the `mlm` command does
// (src/cli/engine-flags.ts), so the wasm kernels are the fused multiply-add variant on Node 20 too, as
// the reference losses were recorded. A Node that does not know the flag has the feature on.
const relaxed = ["--experimental-wasm-relaxed-simd"];
const knowsFlag = spawnSync(process.execPath, [...relaxed, "-e", ""], { stdio: "ignore" }).status === 0;
let code;
try {
  const run = spawnSync(process.execPath, [...(knowsFlag ? relaxed : []), "--test", "--test-concurrency=2", ...paths], {
    stdio: "inherit",
    // NODE_DISABLE_COMPILE_CACHE: npm 11 on Node 22+ turns on Node's compile cache, a folder in TMPDIR
    // that the npm commands some tests run would otherwise leave behind.
    env: { ...process.env, TMPDIR: temp, TMP: temp, TEMP: temp, NODE_DISABLE_COMPILE_CACHE: "1" },
  });
  code = run.status ?? 1;
  const left = readdirSync(temp);
  if (left.length > 0) {
    process.stderr.write(
      `npm test: the tests left ${left.length} temporary entr${left.length === 1 ? "y" : "ies"} behind ` +
        `(remove them in a finally block or with node:test's after): ${left.join(", ")}\n`,
    );
    code = 1;
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
process.exitCode = code;
