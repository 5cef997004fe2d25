// Requests a hostile web page, a DNS-rebinding attacker or a careless client could send to the
// studio: each gets a 4xx JSON error without a stack trace or a byte of what lies outside the runs and
// data folders, and nothing on disk changes (no file read out, written, or training started).
import { strict as assert } from "node:assert";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startStudio, type Studio } from "../../src/studio/server.js";
import { tempDir } from "../temp-dir.js";
import { mlm, snapshot, TINY_FLAGS, writeTinyCorpus } from "./fixtures.js";

const SECRET = "top secret: never served";
const root = tempDir("mlm-studio-hostile-");
let studio: Studio;

before(async () => {
  for (const d of ["runs", "data", "outside/fake-run", "outside/best"]) mkdirSync(join(root, d), { recursive: true });
  writeTinyCorpus(join(root, "data", "c.txt"));
  mlm([
    "train",
    join(root, "data", "c.txt"),
    ...TINY_FLAGS,
    "--max-steps",
    "10",
    "--eval-steps",
    "10",
    "--out-dir",
    join(root, "runs", "tiny"),
    "--cache-dir",
    join(root, "cache"),
  ]);
  // What lies outside, and links pointing there from inside both folders.
  writeFileSync(join(root, "outside", "secret.txt"), SECRET);
  writeFileSync(join(root, "outside", "fake-run", "config.json"), JSON.stringify({ secret: SECRET }));
  writeFileSync(join(root, "outside", "fake-run", "metrics.jsonl"), `{"step":0,"secret":"${SECRET}","time":0}\n`);
  writeFileSync(join(root, "outside", "best", "model.safetensors"), SECRET);
  symlinkSync(join(root, "outside", "fake-run"), join(root, "runs", "linked-run"));
  mkdirSync(join(root, "runs", "linked-files"));
  symlinkSync(join(root, "outside", "fake-run", "config.json"), join(root, "runs", "linked-files", "config.json"));
  symlinkSync(join(root, "outside", "fake-run", "metrics.jsonl"), join(root, "runs", "linked-files", "metrics.jsonl"));
  symlinkSync(join(root, "outside", "best"), join(root, "runs", "linked-files", "best"));
  symlinkSync(join(root, "outside", "secret.txt"), join(root, "data", "leak.txt"));
  studio = await startStudio({
    runsDir: join(root, "runs"),
    dataDir: join(root, "data"),
    cacheDir: join(root, "cache"),
  });
});

after(async () => {
  await studio?.close();
});

interface Answer {
  status: number;
  body: string;
}

/** One raw request: the path is sent as written (no URL normalisation of "..", unlike fetch). */
function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; token?: boolean } = {},
): Promise<Answer> {
  const { port } = new URL(studio.origin);
  const headers: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    ...(options.token === false ? {} : { "X-Mlm-Token": studio.token }),
    ...options.headers,
  };
  if (options.body !== undefined) headers["Content-Type"] ??= "application/json";
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    // An answer that never ends (an event stream opened where it should have been refused) fails, not hangs.
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no complete answer within 5 s`)));
    req.end(options.body);
  });
}

/** A 4xx with a one-line JSON error, no stack trace and nothing of the secret. */
function assertRefused(a: Answer, what: string, status?: number): void {
  assert.ok(a.status >= 400 && a.status < 500, `${what}: expected 4xx, got ${a.status} ${a.body}`);
  if (status !== undefined) assert.equal(a.status, status, `${what}: ${a.body}`);
  const parsed = JSON.parse(a.body) as { error: unknown };
  assert.equal(typeof parsed.error, "string", what);
  assert.doesNotMatch(a.body, /\bat .*:\d+:\d+|node:internal/, `${what}: a stack trace`);
  assert.ok(!a.body.includes(SECRET), `${what}: leaked the secret`);
}

const post = (path: string, value: unknown, headers?: Record<string, string>): Promise<Answer> =>
  send("POST", path, { body: JSON.stringify(value), headers });

test("traversal in every path parameter, encoded or not, and symbolic links leading out are refused", async () => {
  const before = snapshot(root);
  const runIds = [
    "..",
    "%2e%2e",
    "..%2f..%2foutside%2ffake-run",
    "%2e%2e%2foutside%2ffake-run",
    "%2Foutside",
    "linked-run",
    "tiny%2f..%2f..%2foutside%2ffake-run",
    "tiny%00",
  ];
  for (const id of runIds) {
    assertRefused(await send("GET", `/api/runs/${id}`), `GET run ${id}`);
    assertRefused(await send("GET", `/api/runs/${id}/metrics`), `metrics of ${id}`);
    assertRefused(await send("GET", `/api/runs/${id}/curves`), `curves of ${id}`);
    assertRefused(await send("GET", `/api/metrics?run=tiny&run=${id}`), `metrics of tiny and ${id}`);
    assertRefused(await send("GET", `/api/runs/${id}/files/config.json`), `files of ${id}`);
    assertRefused(await send("POST", `/api/runs/${id}/stop`), `stop ${id}`);
    assertRefused(await post("/api/tokenize", { run: decodeURIComponent(id), text: "a" }), `tokenize ${id}`);
    assertRefused(await post("/api/fill", { run: decodeURIComponent(id), text: "[MASK]" }), `fill ${id}`);
  }
  // Raw "..", which fetch would normalise away, straight after the prefix.
  assertRefused(await send("GET", "/api/runs/../../outside/secret.txt"), "raw ..");
  const names = [
    "..%2f..%2foutside%2fsecret.txt",
    "../../outside/secret.txt",
    "best/..%2f..%2f..%2foutside%2fsecret.txt",
    "best/../../x",
    "inputs.json",
    "lock.json",
    "best/secret.txt",
    "best",
    "%2fetc%2fpasswd",
  ];
  for (const name of names) assertRefused(await send("GET", `/api/runs/tiny/files/${name}`), `file ${name}`);
  for (const name of ["config.json", "metrics.jsonl", "best/model.safetensors"])
    assertRefused(await send("GET", `/api/runs/linked-files/files/${name}`), `linked ${name}`);
  assertRefused(await send("GET", "/api/runs/linked-files/metrics"), "linked metrics"); // metrics.jsonl links out: not a run
  assertRefused(await send("GET", "/api/runs/linked-files/curves"), "linked curves");
  for (const checkpoint of ["../../outside/best", "..", "best/..", "last-00000010/../..", "optimizer.safetensors"])
    assertRefused(await post("/api/fill", { run: "tiny", checkpoint, text: "[MASK]" }), `checkpoint ${checkpoint}`);
  for (const corpus of [
    "../outside/secret.txt",
    "leak.txt",
    join(root, "outside", "secret.txt"),
    "/etc/passwd",
    "",
    ".",
  ])
    assertRefused(await post("/api/train", { corpus, settings: {} }), `corpus ${corpus}`);
  for (const name of ["../escape", "a/b", "..", ".hidden", "tiny", "x".repeat(65)])
    assertRefused(await post("/api/train", { corpus: "c.txt", name, settings: {} }), `run name ${name}`);
  for (const path of [
    "/..%2f..%2fpackage.json",
    "/%2e%2e/%2e%2e/outside/secret.txt",
    "/../../outside/secret.txt",
    "/train/..%2f..%2f..%2fpackage.json",
  ]) {
    const a = await send("GET", path);
    assert.equal(a.status, 404, `page ${path}: ${a.body}`);
    assert.ok(!a.body.includes(SECRET) && !a.body.includes('"name": "mlm-ts"'), path);
  }
  assert.deepEqual(snapshot(root), before);
});

test("a missing or wrong token, a foreign Origin or another Host name is refused", async () => {
  const before = snapshot(root);
  const form = { corpus: "c.txt", name: "should-not-start", settings: { maxSteps: 5 } };
  assertRefused(await send("GET", "/api/runs", { token: false }), "no token", 401);
  assertRefused(
    await send("GET", "/api/runs", { token: false, headers: { "X-Mlm-Token": "0".repeat(64) } }),
    "wrong token",
    401,
  );
  assertRefused(
    await send("GET", `/api/runs?token=${studio.token.slice(0, -1)}`, { token: false }),
    "truncated token",
    401,
  );
  assertRefused(
    await send("GET", "/api/runs", { token: false, headers: { Cookie: `mlm_studio_1=${studio.token}` } }),
    "another port's cookie",
    401,
  );
  assertRefused(
    await send("POST", "/api/train", { body: JSON.stringify(form), headers: { Origin: "http://evil.example" } }),
    "foreign Origin",
    403,
  );
  assertRefused(
    await send("POST", "/api/train", { body: JSON.stringify(form), headers: { Origin: "null" } }),
    "opaque Origin",
    403,
  );
  const { port } = new URL(studio.origin);
  assertRefused(
    await send("POST", "/api/train", {
      body: JSON.stringify(form),
      headers: { Origin: `http://127.0.0.1:${Number(port) + 1}` },
    }),
    "another port's Origin",
    403,
  );
  for (const host of [
    `evil.example:${port}`,
    "127.0.0.1",
    `127.0.0.1:${Number(port) + 1}`,
    `localhost.evil.example:${port}`,
  ]) {
    assertRefused(await send("GET", "/api/runs", { headers: { Host: host } }), `Host ${host}`, 403);
    assertRefused(
      await send("POST", "/api/train", {
        body: JSON.stringify(form),
        headers: { Host: host, Origin: `http://${host}` },
      }),
      `train from Host ${host}`,
      403,
    );
    assert.equal((await send("GET", "/", { headers: { Host: host } })).status, 403, `page for Host ${host}`);
  }
  // The right token, Origin and Host work (so the refusals above are about what they changed).
  assert.equal((await send("GET", "/api/runs", { headers: { Origin: `http://127.0.0.1:${port}` } })).status, 200);
  assert.equal(
    (
      await send("GET", "/api/runs", {
        token: false,
        headers: { Host: `localhost:${port}`, Cookie: `mlm_studio_${port}=${studio.token}` },
      })
    ).status,
    200,
  );
  assert.deepEqual(snapshot(root), before);
});

test("oversized, malformed and ill-typed bodies and bad settings are 4xx naming what is wrong", async () => {
  const before = snapshot(root);
  const big = JSON.stringify({ run: "tiny", text: "[MASK] " + "a".repeat(70 * 1024) });
  assertRefused(await send("POST", "/api/fill", { body: big }), "oversized body", 413);
  assertRefused(await send("POST", "/api/train", { body: "x".repeat(200 * 1024) }), "oversized garbage", 413);
  assertRefused(await send("POST", "/api/fill", { body: '{"run": "tiny", "text": ' }), "cut JSON", 400);
  assertRefused(await send("POST", "/api/train", { body: "[1, 2]" }), "an array", 400);
  assertRefused(await send("POST", "/api/tokenize", { body: "not json" }), "not JSON", 400);
  assertRefused(
    await send("POST", "/api/tokenize", {
      body: '{"run":"tiny","text":"a"}',
      headers: { "Content-Type": "text/plain" },
    }),
    "text/plain",
    415,
  );
  assertRefused(await post("/api/fill", { run: "tiny", text: 42 }), "a number as text", 400);
  assertRefused(await post("/api/fill", { run: "tiny", text: "no mask here" }), "no [MASK]", 400);
  assertRefused(await post("/api/fill", { run: "tiny", text: "[MASK]", topK: 0 }), "top-k 0", 400);
  assertRefused(await send("GET", "/api/runs/%E0%A4%A"), "malformed escape", 400);
  for (const q of ["offset=-1", "offset=x", "offset=1&offset=2", "offset=1e400"])
    assertRefused(await send("GET", `/api/metrics?run=tiny&${q}`), `metrics ${q}`, 400);
  assertRefused(await send("DELETE", "/api/runs"), "DELETE", 405);
  assertRefused(await send("GET", "/api/nothing"), "unknown API", 404);
  const fieldOf = async (settings: Record<string, unknown>): Promise<{ field: string; error: string }> => {
    const a = await post("/api/train", { corpus: "c.txt", name: "bad", settings });
    assertRefused(a, JSON.stringify(settings), 400);
    const { field, error } = JSON.parse(a.body) as { field: string; error: string };
    return { field, error };
  };
  assert.deepEqual(await fieldOf({ batchSize: 0 }), {
    field: "batchSize",
    error: "batch-size must be an integer >= 1, got 0",
  });
  assert.equal((await fieldOf({ learningRate: "fast" })).field, "learningRate");
  assert.equal((await fieldOf({ backend: "gpu" })).field, "backend");
  assert.equal((await fieldOf({ dModel: 18, numHeads: 4 })).field, "dModel");
  assert.equal((await fieldOf({ outDir: "/tmp/elsewhere" })).field, "outDir"); // not a setting of the form
  assert.equal((await fieldOf({ cacheDir: "/" })).field, "cacheDir");
  // Every bad field at once, each named as the form labels it.
  const several = await post("/api/train", { corpus: "c.txt", name: "bad", settings: { batchSize: 0, threads: 100 } });
  assert.deepEqual(
    (JSON.parse(several.body) as { errors: { field: string }[] }).errors.map((e) => e.field),
    ["batchSize", "threads"],
  );
  // Managing runs: traversal, bad names and runs that are not interrupted are refused, nothing moves.
  for (const id of ["..", "%2E%2E", "..%2Fruns", "%2Fetc", "nope"]) {
    assertRefused(await send("DELETE", `/api/runs/${id}`), `DELETE ${id}`, 404);
    assertRefused(await post(`/api/runs/${id}/rename`, { name: "x" }), `rename ${id}`, 404);
    assertRefused(await post(`/api/runs/${id}/resume`, {}), `resume ${id}`, 404);
    assertRefused(await post(`/api/runs/${id}/stop`, {}), `stop ${id}`, 404);
  }
  for (const name of ["../x", "a/b", ".hidden", "", "x".repeat(65)])
    assertRefused(await post("/api/runs/tiny/rename", { name }), `rename to ${JSON.stringify(name)}`, 400);
  assertRefused(await post("/api/runs/tiny/resume", {}), "resume a finished run", 409);
  assertRefused(await post("/api/runs/tiny/stop", {}), "stop a run nobody trains", 409);
  assertRefused(
    await post("/api/finetune", { from: "../tiny", data: "c.txt", name: "ft", settings: {} }),
    "finetune from outside",
    400,
  );
  assertRefused(
    await post("/api/finetune", { from: "tiny", data: "../c.txt", name: "ft", settings: {} }),
    "finetune on a file outside the data folder",
    400,
  );
  assert.deepEqual(snapshot(root), before);
});

test("every answer carries the cross-origin isolation headers", async () => {
  for (const path of ["/", "/main.js", "/api/runs", "/api/nothing"]) {
    const res = await fetch(studio.origin + path, { headers: { "X-Mlm-Token": studio.token } });
    await res.arrayBuffer();
    assert.equal(res.headers.get("cross-origin-opener-policy"), "same-origin", path);
    assert.equal(res.headers.get("cross-origin-embedder-policy"), "require-corp", path);
    assert.equal(res.headers.get("cross-origin-resource-policy"), "same-origin", path);
  }
});
