/**
 * The runs kept in this browser (OPFS runs/<id>): their task, state and step, read for the page's
 * table; a run as one .zip in the CLI's layout, and a .zip of a run folder (the page's, or one trained
 * by `mlm train`, `mlm finetune` or `mlm studio`) opened as a run of this browser.
 *
 * A run whose status says "running" while no tab holds its Web Lock was cut short by a closed or
 * reloaded tab: it is listed as interrupted.
 */
import { unzipSync, zipSync } from "fflate";
import { opfsStorage as storage } from "../../src/platform/opfs-storage.js";
import { readJsonObject, readRunFiles, readRunStatus, splitTaskRecord, writeRunFiles } from "../../src/run/index.js";
import { runLockName } from "./protocol.js";

export interface TabRun {
  dir: string;
  id: string;
  task: "fill-mask" | "text-classification";
  /** The status as shown: "running", "finished", "interrupted (the tab training it closed)", ... */
  state: string;
  step: number | null;
  /** Whether a tab (this one or another) trains it now. */
  owned: boolean;
}

/** Every run in this browser, newest first. */
export async function readTabRuns(): Promise<TabRun[]> {
  const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
  const runs: TabRun[] = [];
  for (const id of (await storage.list("runs")).sort().reverse()) {
    const dir = storage.path.join("runs", id);
    const status = await readRunStatus(dir, storage).catch(() => null);
    const owned = held.has(runLockName(dir));
    const config = storage.path.join(dir, "config.json");
    const task = await readJsonObject(storage, config).then(
      (raw) => splitTaskRecord(raw, config).task,
      () => "fill-mask" as const, // no config.json yet: a run that is starting
    );
    const state =
      status?.state === "running" && !owned ? "interrupted (the tab training it closed)" : (status?.state ?? "?");
    runs.push({ dir, id, task, state, step: status?.step ?? null, owned });
  }
  return runs;
}

/** Saves run `runDir` as `<id>.zip`, its folder inside (stored, not deflated: float32 weights barely compress). */
export async function downloadRun(runDir: string): Promise<void> {
  const name = storage.path.basename(runDir);
  const files = await readRunFiles(runDir, storage);
  const zip = zipSync(Object.fromEntries(files.map((f) => [`${name}/${f.path}`, f.bytes])), { level: 0 });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
  link.download = `${name}.zip`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Writes the run folder a .zip holds to runs/<its name>; returns that run's directory. */
export async function openRunZip(file: File): Promise<string> {
  const entries = Object.entries(unzipSync(new Uint8Array(await file.arrayBuffer()))).filter(([p]) => !p.endsWith("/"));
  // A zip of a run holds one top folder (the run's name), as the page's downloads do.
  const tops = new Set(entries.map(([p]) => p.split("/")[0]));
  const single = tops.size === 1 && entries.every(([p]) => p.includes("/"));
  const name = single ? [...tops][0] : file.name.replace(/\.zip$/, "");
  const files = entries.map(([p, bytes]) => ({ path: single ? p.slice(name.length + 1) : p, bytes }));
  const runDir = storage.path.join("runs", name);
  await writeRunFiles(runDir, files, storage);
  return runDir;
}
