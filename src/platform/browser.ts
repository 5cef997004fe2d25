/**
 * The browser platform: run directories in the origin-private file system (opfs-storage.ts), kernel
 * threads as Web Workers started from a Blob URL of their source, the core count from
 * `navigator.hardwareConcurrency`. Install it with `setPlatform(browserPlatform())` in a dedicated
 * Worker before training: the kernels' dispatcher waits with `Atomics.wait`, which browsers forbid on
 * a page's main thread.
 *
 * Threads need a SharedArrayBuffer, which a browser grants only to a cross-origin isolated page
 * (served with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
 * require-corp`). Without it `threadSupport()` says why and the engine runs on one thread.
 *
 * @example
 *   import { setPlatform } from "mlm-ts/platform";
 *   setPlatform(browserPlatform());
 *   const { threads, reason } = threadSupport(); // { threads: 8, reason: null } when isolated
 */
import { browser } from "./browser-api.js";
import { opfsStorage } from "./opfs-storage.js";
import type { Platform, WorkerHandle } from "./platform.js";

/** The host a browser run's lock names: runs in browser storage belong to this origin's tabs. */
export const BROWSER_HOST = "browser";

/** How many kernel threads this page may use, and why only one when that is so. */
export function threadSupport(): { threads: number; reason: string | null } {
  const cores = Math.max(1, browser().navigator.hardwareConcurrency || 1);
  if (typeof SharedArrayBuffer === "undefined" || browser().crossOriginIsolated !== true)
    return {
      threads: 1,
      reason:
        "this page is not cross-origin isolated (its server sends no Cross-Origin-Opener-Policy: same-origin and " +
        "Cross-Origin-Embedder-Policy: require-corp headers), so the browser withholds SharedArrayBuffer: training runs on one thread",
    };
  return { threads: cores, reason: null };
}

/**
 * A Web Worker running `source` (see Platform.startWorker): a classic script from a Blob URL that
 * waits for its data in the first message, so that the WebAssembly module and the shared memory are
 * passed by structured clone.
 */
function startWorker(source: string, data: unknown, label: string): WorkerHandle {
  const script = `"use strict";
self.onmessage = (event) => {
  self.onmessage = null;
  (${source})(event.data, (message) => self.postMessage(message), (listener) => { self.onmessage = (e) => listener(e.data); });
};`;
  const url = URL.createObjectURL(new Blob([script], { type: "text/javascript" }));
  const worker = new (browser().Worker)(url, { name: label });
  URL.revokeObjectURL(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => {
      worker.onmessage = null;
      worker.onerror = null;
      resolve();
    };
    worker.onerror = (event) => reject(new Error(`${label} failed to start: ${event.message || "script error"}`));
  });
  worker.postMessage(data);
  return {
    ready,
    terminate: () => worker.terminate(),
    post: (message) => worker.postMessage(message),
    listen(onReply, onError) {
      void ready.then(() => {
        worker.onmessage = (event) => onReply(event.data);
        worker.onerror = (event) => onError(new Error(`${label} failed: ${event.message || "script error"}`));
      }, onError);
    },
  };
}

/**
 * The browser platform. `pid` identifies this training worker in lock files; a tab owns a run by a
 * Web Lock taken before the lock file (see the README), so a lock file found by the owner of the Web
 * Lock belongs to a closed or reloaded tab: only this worker's own id counts as alive.
 */
export function browserPlatform(pid = 1 + Math.floor(Math.random() * 0x7ffffffe)): Platform {
  return {
    storage: opfsStorage,
    cpuCount: () => threadSupport().threads,
    startWorker,
    processOwner: () => ({ pid, host: BROWSER_HOST }),
    isProcessAlive: (other) => other === pid,
    // a browser's WebGPU is its navigator.gpu, which src/engine/webgpu/device.ts looks for first
    webGpu: () =>
      Promise.resolve({
        reason:
          "this context has no navigator.gpu (a browser without WebGPU, or a page that is not https or localhost)",
      }),
  };
}
