/**
 * The Node.js platform: run directories on the file system (node:fs, atomic writes through
 * util/atomic-write.ts), kernels on node:worker_threads, the core count from node:os and V8 flags
 * from node:v8. The only module of the library that imports these (see the README's architecture).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import nodePath from "node:path";
import v8 from "node:v8";
import { Worker } from "node:worker_threads";
import { fsyncDirectory, writeFileAtomic } from "../util/atomic-write.js";
import type { Platform, WorkerHandle } from "./platform.js";
import type { AppendFile, Storage } from "./storage.js";

/** One line for an error of the file system: the path and what went wrong. */
function readError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new Error(`${path}: file not found`);
  if (code === "EISDIR") return new Error(`${path}: is a directory, expected a file`);
  return new Error(`${path}: cannot read (${code ?? (err as Error).message})`);
}

async function openAppend(path: string, options: { truncate?: boolean } = {}): Promise<AppendFile> {
  await mkdir(nodePath.dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, options.truncate ? "w" : "a");
  return {
    append(text: string): void {
      if (fd === undefined) throw new Error(`${path}: appending after close`);
      const bytes = Buffer.from(text, "utf8");
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    },
    async close(): Promise<void> {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
    },
  };
}

/** Run directories on the local file system. */
export const nodeStorage: Storage = {
  path: nodePath,
  async stat(path) {
    try {
      const s = await stat(path);
      return { kind: s.isDirectory() ? "directory" : s.isFile() ? "file" : "other", modifiedMs: s.mtimeMs };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw readError(err, path);
    }
  },
  async list(dir) {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw readError(err, dir);
    }
  },
  async readBytes(path) {
    try {
      return await readFile(path);
    } catch (err) {
      throw readError(err, path);
    }
  },
  async readText(path) {
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw readError(err, path);
    }
  },
  writeAtomic: writeFileAtomic,
  openAppend,
  async rename(from, to) {
    await rename(from, to);
    fsyncDirectory(nodePath.dirname(to));
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
};

/**
 * A worker thread running `source` (see Platform.startWorker). Its `execArgv` is empty: the source is
 * a classic script, and a parent started with `--input-type=module` would otherwise make it ES module
 * code (V8 flags such as relaxed SIMD are per process and still apply).
 */
function startWorker(source: string, data: unknown, label: string): WorkerHandle {
  const script = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
(${source})(workerData, (message) => parentPort.postMessage(message));`;
  const worker = new Worker(script, { eval: true, execArgv: [], workerData: data });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => {
      worker.removeAllListeners("exit");
      worker.unref();
      resolve();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`${label} exited with code ${code} before starting`)));
  });
  return {
    ready,
    terminate() {
      void worker.terminate();
    },
  };
}

export const nodePlatform: Platform = {
  storage: nodeStorage,
  cpuCount: availableParallelism,
  startWorker,
  setEngineFlag(flag) {
    try {
      v8.setFlagsFromString(flag);
    } catch {
      // not a V8 that knows the flag: nothing to do
    }
  },
  hasStartupFlag(flag) {
    return process.execArgv.includes(flag);
  },
};
