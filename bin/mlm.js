#!/usr/bin/env node
// The `mlm` command of the package (npx mlm, npm run mlm, npm link): the compiled CLI in dist/, or,
// in a clone that has not been built yet, one line saying how to build it instead of a stack trace.
import { existsSync } from "node:fs";

const cli = new URL("../dist/src/cli/main.js", import.meta.url);
if (existsSync(cli)) {
  const { runCli } = await import(cli.href);
  await runCli(process.argv.slice(2));
} else {
  process.stderr.write(
    "mlm: mlm-ts is not built yet (no dist/): run `npm run build` (npm ci and npm install build it)\n",
  );
  process.exitCode = 1;
}
