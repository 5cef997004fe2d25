/**
 * status.json: where a run stands, for `mlm runs` and other readers while or after it trains:
 * `{"state": "running", "step": 1200, "time": 1764000000.5}`, with a `message` when it failed.
 * Written atomically, so a reader never sees half a record. Runs of format 0 have none.
 *
 * @example
 *   await writeRunStatus("runs/demo", { state: "interrupted", step: 1200 });
 *   (await readRunStatus("runs/demo"))?.state; // "interrupted"
 */
import { platform, type Storage } from "../platform/index.js";
import { jsonObjectText, readJsonObject } from "./json-file.js";
import { RUN_FILES } from "./layout.js";

export const RUN_STATES = ["running", "finished", "interrupted", "failed"] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface RunStatus {
  state: RunState;
  /** Optimizer steps done when the status was written. */
  step: number;
  /** When it was written, in unix seconds (as metrics.jsonl's `time`). */
  time: number;
  /** Why the run failed (or any other note). */
  message?: string;
}

/** Writes the run's status.json; `time` defaults to now. */
export async function writeRunStatus(
  runDir: string,
  status: Omit<RunStatus, "time"> & { time?: number },
  storage: Storage = platform().storage,
): Promise<void> {
  const path = storage.path.join(runDir, RUN_FILES.status);
  const record: RunStatus = { ...status, time: status.time ?? Date.now() / 1000 };
  checkStatus(record, path);
  await storage.writeAtomic(path, jsonObjectText(record, path));
}

/** The run's status, or null when it has none (a run of format 0, or one that never recorded it). */
export async function readRunStatus(runDir: string, storage: Storage = platform().storage): Promise<RunStatus | null> {
  const path = storage.path.join(runDir, RUN_FILES.status);
  if ((await storage.stat(path)) === null) return null;
  const raw = await readJsonObject(storage, path);
  checkStatus(raw, path);
  return raw as unknown as RunStatus;
}

/** Throws a one-line error naming `source` and the first field that is not as RunStatus says. */
function checkStatus(raw: Record<string, unknown> | RunStatus, source: string): void {
  const r = raw as Record<string, unknown>;
  if (!RUN_STATES.includes(r.state as RunState))
    throw new Error(`${source}: "state" must be one of ${RUN_STATES.join(", ")}, got ${JSON.stringify(r.state)}`);
  if (typeof r.step !== "number" || !Number.isInteger(r.step) || r.step < 0)
    throw new Error(`${source}: "step" must be a whole number >= 0, got ${JSON.stringify(r.step)}`);
  if (typeof r.time !== "number" || !Number.isFinite(r.time))
    throw new Error(`${source}: "time" must be a number (unix seconds), got ${JSON.stringify(r.time)}`);
  if (r.message !== undefined && typeof r.message !== "string")
    throw new Error(`${source}: "message" must be a string, got ${JSON.stringify(r.message)}`);
}
