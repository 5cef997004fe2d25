// The lock of a run directory: one holder at a time; a stale lock of this host (its process gone) is
// taken over with a note; another host's lock never is; the lock lives in the storage it is given.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireRunLock, RunDirectory } from "../../src/run/index.js";
import { MemoryStorage } from "./memory-storage.js";

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

test("one holder at a time; release deletes the lock, and the directory when the lock made it and it stayed empty", async () => {
  const root = mkdtempSync(join(tmpdir(), "mlm-lock-"));
  try {
    const dir = join(root, "run");
    const lock = await acquireRunLock(dir);
    const held = JSON.parse(readFileSync(join(dir, "lock.json"), "utf8"));
    assert.deepEqual([held.pid, held.host], [process.pid, hostname()]);
    assert.ok(Math.abs(held.started - Date.now() / 1000) < 60);
    // A second holder (here the same live process) is refused, naming the holder and the file.
    await assert.rejects(acquireRunLock(dir), {
      message: new RegExp(
        `^${dir} is being trained by process ${process.pid} \\(since .* UTC\\); ` +
          `a run directory takes one trainer at a time\\. ` +
          `Wait for it or stop it; if that process is not a trainer, delete ${join(dir, "lock.json")}$`,
      ),
    });
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, "lock.json"), "utf8")),
      held,
      "the refused attempt changed nothing",
    );
    await lock.release();
    await lock.release(); // twice is harmless
    assert.equal(existsSync(dir), false, "the lock made the directory; nothing else was written: removed");

    // A directory that existed (or got files) stays.
    const again = await acquireRunLock(dir);
    writeFileSync(join(dir, "config.json"), "{}");
    await again.release();
    assert.equal(existsSync(join(dir, "lock.json")), false);
    assert.equal(readFileSync(join(dir, "config.json"), "utf8"), "{}");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a stale lock of this host is taken over with a note; another host's lock and a malformed one are not", async () => {
  const root = mkdtempSync(join(tmpdir(), "mlm-lock-"));
  try {
    const dir = join(root, "run");
    const lockFile = join(dir, "lock.json");
    const run = new RunDirectory(dir);
    const dead = deadPid();
    await run.storage.writeAtomic(lockFile, JSON.stringify({ pid: dead, host: hostname(), started: 1.5e9 }));
    const notes: string[] = [];
    const lock = await run.lock((line) => notes.push(line));
    assert.deepEqual(notes, [
      `note: ${dir} was locked by process ${dead} of this host, which is no longer running; took the lock over`,
    ]);
    assert.equal(JSON.parse(readFileSync(lockFile, "utf8")).pid, process.pid);
    await lock.release();

    const foreign = JSON.stringify({ pid: dead, host: "other-machine", started: 1.5e9 });
    writeFileSync(lockFile, foreign);
    await assert.rejects(run.lock(), {
      message:
        `${dir} is locked by process ${dead} on host "other-machine" (since 2017-07-14 02:40:00 UTC); ` +
        `a run directory takes one trainer at a time. If nothing trains it there, delete ${lockFile}`,
    });
    assert.equal(readFileSync(lockFile, "utf8"), foreign, "another host's lock is never taken over");

    writeFileSync(lockFile, "{not json");
    await assert.rejects(run.lock(), {
      message: `${lockFile}: a lock file that cannot be read (expected {"pid", "host", "started"}); if no trainer uses ${dir}, delete it`,
    });
    assert.equal(readFileSync(lockFile, "utf8"), "{not json");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the lock goes through the storage it is given", async () => {
  const storage = new MemoryStorage();
  const run = new RunDirectory("/runs/a", storage);
  const lock = await run.lock();
  assert.deepEqual(await storage.list("/runs/a"), ["lock.json"]);
  await assert.rejects(run.lock(), /is being trained by process/);
  await lock.release();
  assert.deepEqual(await storage.list("/runs"), []);
});

test("processes racing for a stale lock: exactly one gets it", async () => {
  const root = mkdtempSync(join(tmpdir(), "mlm-lock-race-"));
  try {
    const dir = join(root, "run");
    const run = new RunDirectory(dir);
    await run.storage.writeAtomic(
      join(dir, "lock.json"),
      JSON.stringify({ pid: deadPid(), host: hostname(), started: 1.5e9 }),
    );
    const lockModule = new URL("../../src/run/index.js", import.meta.url).href;
    // Each contender holds the lock it gets for 3 s, longer than the others take to start and try.
    const script = `import { acquireRunLock } from ${JSON.stringify(lockModule)};
try { const lock = await acquireRunLock(${JSON.stringify(dir)}); console.log("got"); await new Promise((r) => setTimeout(r, 3000)); await lock.release(); }
catch (err) { console.log(/is being trained by process \\d+/.test(err.message) ? "refused" : "error " + err.message); }`;
    const contenders = Array.from({ length: 5 }, () =>
      spawnAsync(process.execPath, ["--input-type=module", "-e", script]),
    );
    const outcomes = (await Promise.all(contenders)).map((s) => s.trim()).sort();
    assert.deepEqual(outcomes, ["got", "refused", "refused", "refused", "refused"]);
    assert.equal(existsSync(join(dir, "lock.json")), false, "released by its holder");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs a command; resolves with its stdout. */
function spawnAsync(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", () => resolve(out));
  });
}
