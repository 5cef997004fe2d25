/**
 * What the library needs from its runtime beyond the JavaScript language: storage for run
 * directories, worker threads for the kernels and the number of cores (the library sets no V8 flag:
 * the `mlm` command does, for its own process, src/cli/engine-flags.ts), and WebGPU where the runtime
 * has none of its own. Node supplies
 * them in node.ts; a browser build supplies its own (Web Workers, navigator.hardwareConcurrency,
 * browser storage) through `setPlatform`.
 */
/// <reference types="@webgpu/types" />
import type { Storage } from "./storage.js";

/** A started worker. */
export interface WorkerHandle {
  /** Resolves when the worker posts its first message; rejects when it fails or exits before. */
  readonly ready: Promise<void>;
  /** Stops the worker. */
  terminate(): void;
  /**
   * Sends `message` (a structured clone) to the worker's `onMessage` listener. The worker must answer
   * each one with exactly one message: until it has, the worker keeps the process alive.
   */
  post(message: unknown): void;
  /** Calls `onReply` with each message the worker posts after its first, `onError` if it fails or exits. */
  listen(onReply: (message: unknown) => void, onError: (err: Error) => void): void;
}

/**
 * A WebGPU entry point and what gives it ("the npm package webgpu (Dawn) on linux x64"), or why there
 * is none.
 */
export type WebGpuEntry = { gpu: GPU; source: string } | { reason: string };

export interface Platform {
  readonly storage: Storage;
  /** Logical cores available to this process: the default number of kernel threads. */
  cpuCount(): number;
  /**
   * Starts a worker running `source`, the text of a classic-script function expression
   * `function (data, postMessage, onMessage) { ... }`, called with a structured clone of `data` (which
   * may hold a WebAssembly.Module and a shared WebAssembly.Memory); `onMessage(listener)` receives what
   * `WorkerHandle.post` sends. `label` names it in errors. A started worker does not keep the process
   * alive, except while a posted message awaits its answer.
   */
  startWorker(source: string, data: unknown, label: string): WorkerHandle;
  /** This process as the owner of a run directory's lock: its id and the name of this machine. */
  processOwner(): { pid: number; host: string };
  /**
   * Whether a process with this id runs on this machine (a process of another user counts). Says
   * nothing about other machines: a lock of another host is never judged by it.
   */
  isProcessAlive(pid: number): boolean;
  /**
   * WebGPU for a runtime without `navigator.gpu` (a page's is used first): in Node, the optional npm
   * package `webgpu`, loaded at the first call; in a browser, none (the reason says so).
   */
  webGpu(): Promise<WebGpuEntry>;
}
