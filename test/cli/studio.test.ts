// `mlm studio` as a user starts it: it prints the address with its token, answers with that token
// only, and Ctrl-C stops it with exit code 0.
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../temp-dir.js";
import { srcModule, startScript } from "./child.js";

test("mlm studio prints its URL with the token, serves the API with it, and stops on SIGINT", async () => {
  const dir = tempDir("mlm-studio-cli-");
  mkdirSync(join(dir, "runs"));
  mkdirSync(join(dir, "data"));
  const child = startScript(srcModule("cli/main"), [
    "studio",
    join(dir, "runs"),
    "--data",
    join(dir, "data"),
    "--port",
    "0",
  ]);
  const deadline = Date.now() + 20_000;
  let match: RegExpMatchArray | null = null;
  while ((match = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]{64})/.exec(child.stdout())) === null) {
    assert.ok(Date.now() < deadline, `no URL printed: ${child.stdout()} ${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const [, origin, token] = match;
  assert.equal((await fetch(`${origin}/api/runs`)).status, 401);
  const res = await fetch(`${origin}/api/runs?token=${token}`);
  assert.deepEqual(await res.json(), { runs: [], jobs: {} });
  child.kill("SIGINT");
  assert.equal((await child.exited).code, 0);
});

test("mlm studio refuses a runs folder that does not exist, naming it", async () => {
  const dir = tempDir("mlm-studio-cli-");
  const child = startScript(srcModule("cli/main"), ["studio", join(dir, "missing"), "--data", dir]);
  assert.equal((await child.exited).code, 1);
  assert.match(child.stderr(), /missing: no such directory \(the runs folder\)/);
});

test("mlm studio --open without a display says that it cannot open a browser, and keeps serving", async () => {
  const dir = tempDir("mlm-studio-cli-");
  mkdirSync(join(dir, "runs"));
  const { DISPLAY: _d, WAYLAND_DISPLAY: _w, ...env } = process.env;
  const child = startScript(srcModule("cli/main"), ["studio", join(dir, "runs"), "--port", "0", "--open"], env);
  await child.waitFor(
    /cannot open a browser: there is no display \(DISPLAY and WAYLAND_DISPLAY are unset\); open the address above/,
  );
  assert.match(child.stdout(), /http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  child.kill("SIGINT");
  assert.equal((await child.exited).code, 0);
});
