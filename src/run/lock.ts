/**
 * The lock of a run directory: one process trains a run at a time. A trainer creates `lock.json`
 * (`{"pid": 4242, "host": "gpu-box", "started": 1764000000.5}`) before it touches anything else in the
 * directory, and deletes it when it ends. Readers (`mlm fill`, `mlm eval`, `mlm runs`) ignore it.
 *
 * A lock already there is stale only when it comes from this host and its process is gone (killed,
 * crashed, the machine restarted): it is then taken over, with a note. A lock of another host is never
 * taken over, since whether its process still runs cannot be known from here (a directory shared over
 * a network). Process ids are reused: a lock whose pid now belongs to an unrelated live process counts
 * as held, and the message names the file to delete once the user is sure.
 *
 * @example
 *   const lock = await acquireRunLock("runs/demo", { log: console.error });
 *   try {
 *     // ... train, write checkpoints ...
 *   } finally {
 *     await lock.release();
 *   }
 */
import { platform, type Storage } from "../platform/index.js";
import { RUN_FILES } from "./layout.js";

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  /** When the lock was taken, in unix seconds. */
  started: number;
}

/** A held lock; `release` deletes it (once, and only while it is still this holder's). */
export class RunLock {
  private released = false;

  constructor(
    /** The lock file. */
    readonly path: string,
    readonly owner: LockOwner,
    private readonly storage: Storage,
    /** The run directory did not exist before the lock: it is removed again if nothing else was written. */
    private readonly createdDir: string | null,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const current = await readLock(this.storage, this.path);
    if (current !== null && current !== "malformed" && sameOwner(current, this.owner))
      await this.storage.remove(this.path);
    if (this.createdDir !== null && (await this.storage.list(this.createdDir)).length === 0)
      await this.storage.remove(this.createdDir);
  }
}

/** Attempts at taking a lock that other processes keep changing. */
const ATTEMPTS = 5;

/**
 * Takes the lock of `runDir` (creating the directory), or throws a one-line error saying who holds
 * it. A stale lock of this host is taken over (see the module comment); `log` gets the note.
 */
export async function acquireRunLock(
  runDir: string,
  options: { storage?: Storage; log?: (line: string) => void } = {},
): Promise<RunLock> {
  const storage = options.storage ?? platform().storage;
  const dir = storage.path.resolve(runDir);
  const path = storage.path.join(dir, RUN_FILES.lock);
  const createdDir = (await storage.stat(dir)) === null ? dir : null;
  const { pid, host } = platform().processOwner();
  const owner: LockOwner = { pid, host, started: Date.now() / 1000 };
  const text = JSON.stringify(owner) + "\n";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await storage.createExclusive(path, text)) return new RunLock(path, owner, storage, createdDir);
    const found = await readLock(storage, path);
    if (found === null) continue; // released meanwhile
    if (found === "malformed")
      throw new Error(
        `${path}: a lock file that cannot be read (expected {"pid", "host", "started"}); if no trainer uses ${dir}, delete it`,
      );
    if (found.host !== host)
      throw new Error(
        `${dir} is locked by process ${found.pid} on host "${found.host}" (since ${isoTime(found.started)}); ` +
          `a run directory takes one trainer at a time. If nothing trains it there, delete ${path}`,
      );
    if (found.pid === pid || platform().isProcessAlive(found.pid))
      throw new Error(
        `${dir} is being trained by process ${found.pid} (since ${isoTime(found.started)}); ` +
          `a run directory takes one trainer at a time. ` +
          `Wait for it or stop it; if that process is not a trainer, delete ${path}`,
      );
    if (await takeOver(storage, path, found)) {
      options.log?.(
        `note: ${dir} was locked by process ${found.pid} of this host, which is no longer running; took the lock over`,
      );
    }
  }
  throw new Error(`${path}: could not take the lock (other processes keep changing it)`);
}

/**
 * Removes the stale lock `stale`. It is first moved aside and read back: when another process took it
 * over in between, what was moved is that process's fresh lock, which is put back. True when the
 * stale lock was removed.
 */
async function takeOver(storage: Storage, path: string, stale: LockOwner): Promise<boolean> {
  const aside = `${path}.stale-${platform().processOwner().pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await storage.rename(path, aside);
  } catch (err) {
    if ((await storage.stat(path)) === null) return false; // someone else moved it first
    throw err;
  }
  const moved = await readLock(storage, aside);
  if (moved !== null && moved !== "malformed" && !sameOwner(moved, stale)) {
    await storage.createExclusive(path, await storage.readText(aside));
    await storage.remove(aside);
    return false;
  }
  await storage.remove(aside);
  return true;
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.started === b.started;
}

/** The lock's owner; null when there is no lock file, "malformed" when it cannot be read as one. */
async function readLock(storage: Storage, path: string): Promise<LockOwner | null | "malformed"> {
  let text: string;
  try {
    if ((await storage.stat(path)) === null) return null;
    text = await storage.readText(path);
  } catch {
    return (await storage.stat(path)) === null ? null : "malformed";
  }
  try {
    const raw = JSON.parse(text) as Partial<LockOwner>;
    const { pid, host, started } = raw;
    if (typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 && typeof host === "string")
      if (typeof started === "number" && Number.isFinite(started)) return { pid, host, started };
  } catch {
    // below
  }
  return "malformed";
}

/** Unix seconds as an ISO date and time, for messages. */
function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}
