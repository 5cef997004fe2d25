/**
 * Stopping a run that another process trains on this host (`mlm train` or `mlm finetune` started in
 * a terminal): SIGINT to the process its lock.json names, on which the trainer saves a checkpoint and
 * exits, as on Ctrl-C. Only when the lock names this host, the process belongs to this user, and its
 * command line is an `mlm train` or `mlm finetune` of this run: a stale lock whose pid was reused by
 * another program is never signalled.
 *
 * @example
 *   await stopTrainerOf("/srv/runs/demo");   // 409 HttpError naming why when it cannot
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { platform } from "../platform/index.js";
import { RUN_FILES } from "../run/index.js";
import { HttpError } from "./http.js";

/** The arguments of process `pid` (Linux /proc), or null when it is gone or unreadable. */
async function commandLine(pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((a) => a !== "");
  } catch {
    return null;
  }
}

/** Whether `argv` runs mlm's CLI (bin/mlm.js, dist/src/cli/main.js or an `mlm` on the PATH) with the train or finetune command. */
export function isTrainerCommand(argv: readonly string[]): boolean {
  const cli = argv.findIndex((a) => /(^|\/)mlm(\.js)?$/.test(a) || /(^|\/)cli\/main\.js$/.test(a));
  return cli !== -1 && ["train", "finetune"].includes(argv[cli + 1] ?? "");
}

/** Sends SIGINT to the trainer of run folder `dir` when it is an mlm trainer of this user on this host; 409 otherwise. */
export async function stopTrainerOf(dir: string): Promise<number> {
  let lock: { pid?: unknown; host?: unknown };
  try {
    lock = JSON.parse(await readFile(join(dir, RUN_FILES.lock), "utf8")) as typeof lock;
  } catch {
    throw new HttpError(409, "no trainer holds this run (it has no lock.json)");
  }
  const { host } = platform().processOwner();
  if (typeof lock.pid !== "number" || !Number.isSafeInteger(lock.pid) || lock.pid <= 1)
    throw new HttpError(409, "lock.json names no process");
  if (lock.host !== host) throw new HttpError(409, `the run is trained on another host (${String(lock.host)})`);
  const pid = lock.pid;
  const argv = await commandLine(pid);
  if (argv === null) throw new HttpError(409, `process ${pid} of lock.json is gone`);
  if (!isTrainerCommand(argv)) throw new HttpError(409, `process ${pid} of lock.json is not an mlm train or finetune`);
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  const owner = (await stat(`/proc/${pid}`)).uid;
  if (owner !== uid) throw new HttpError(409, `process ${pid} belongs to another user`);
  process.kill(pid, "SIGINT");
  return pid;
}
