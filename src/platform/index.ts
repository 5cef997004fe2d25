/**
 * The platform seam: the runtime the library runs on (Node by default). Code that needs storage,
 * worker threads, the core count or engine flags asks `platform()` instead of importing node:*
 * modules, so that a browser build can supply its own with `setPlatform`.
 *
 * @example
 *   import { platform } from "mlm-ts/platform";
 *   const threads = platform().cpuCount();
 *   const text = await platform().storage.readText("runs/demo/config.json");
 */
import { nodePlatform } from "./node.js";
import type { Platform } from "./platform.js";

export type { Platform, WebGpuEntry, WorkerHandle } from "./platform.js";
export type { AppendFile, EntryInfo, FileData, PathSyntax, Storage } from "./storage.js";
export { nodePlatform, nodeStorage } from "./node.js";

let current: Platform = nodePlatform;

/** The platform in use. */
export function platform(): Platform {
  return current;
}

/** Replaces the platform (before the first backend or run directory is created). */
export function setPlatform(next: Platform): void {
  current = next;
}
