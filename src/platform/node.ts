/**
 * The Node.js platform: run directories on the file system (node:fs, atomic writes through
 * util/atomic-write.ts), kernels on node:worker_threads and the core count from node:os. The only
 * module of the library that imports these (see the README's architecture).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { availableParallelism, hostname } from "node:os";
import nodePath from "node:path";
import { Worker } from "node:worker_threads";
import { fsyncDirectory, tempPathFor, writeFileAtomic, type FileData } from "../util/atomic-write.js";
import { nodeWebGpu } from "./node-webgpu.js";
import type { Platform, WorkerHandle } from "./platform.js";
import type { AppendFile, Storage } from "./storage.js";

/** One line for an error of the file system: the path and what went wrong. */
function readError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new Error(`${path}: file not found`);
  if (code === "EISDIR") return new Error(`${path}: is a directory, expected a file`);
  return new Error(`${path}: cannot read (${code ?? (err as Error).message})`);
}

/**
 * One line for a failed write: the path, and for a permission error the folder that is not writable.
 * Files are written as new files renamed into place, so a refusal is always about creating an entry:
 * the folder holding `err.path` (the entry the system refused, which may be a folder above `path`).
 */
function writeError(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS")
    return new Error(
      `${path}: cannot write: the folder ${nodePath.dirname(e.path ?? path)} is not writable (${e.code})`,
    );
  if (e.code === "ENOSPC") return new Error(`${path}: cannot write: no space left on the device`);
  if (e.code === "ENOTDIR") return new Error(`${path}: cannot write: a part of the path is a file, not a folder`);
  return new Error(`${path}: cannot write (${e.code ?? e.message})`);
}

/** Node's error, or the one-line `writeError` for a system error (one with a code). */
function asWriteError(err: unknown, path: string): unknown {
  return typeof (err as NodeJS.ErrnoException).code === "string" ? writeError(err, path) : err;
}

async function writeAtomic(path: string, data: FileData): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (err) {
    throw asWriteError(err, path);
  }
}

/**
 * The file is written whole under a temporary name, then hard-linked to `path`: the link fails when
 * `path` exists, so the creation is exclusive and never half written. File systems without hard links
 * get an exclusive open instead (a crash mid-write could then leave a short file).
 */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const temp = tempPathFor(path);
  try {
    await writeFileAtomic(temp, text);
    try {
      await link(temp, path);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw err;
    }
    try {
      const file = await open(path, "wx");
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  } catch (err) {
    throw asWriteError(err, path);
  } finally {
    await rm(temp, { force: true });
  }
}

async function openAppend(path: string, options: { truncate?: boolean } = {}): Promise<AppendFile> {
  await mkdir(nodePath.dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, options.truncate ? "w" : "a");
  return {
    append(data: string | Uint8Array): void {
      if (fd === undefined) throw new Error(`${path}: appending after close`);
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
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
      const s = await stat(path, { bigint: true });
      return {
        kind: s.isDirectory() ? "directory" : s.isFile() ? "file" : "other",
        modifiedMs: Number(s.mtimeNs) / 1e6,
        version: `${s.dev}:${s.ino}:${s.ctimeNs}`,
      };
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
  writeAtomic,
  createExclusive,
  async openAppend(path, options) {
    try {
      return await openAppend(path, options);
    } catch (err) {
      throw asWriteError(err, path);
    }
  },
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
(${source})(workerData, (message) => parentPort.postMessage(message), (listener) => parentPort.on("message", listener));`;
  const worker = new Worker(script, { eval: true, execArgv: [], workerData: data });
  let awaited = 0; // posted messages not answered yet: the worker is ref'd while there are any
  let stopped = false; // terminated on purpose: its exit is no failure
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
      stopped = true;
      void worker.terminate();
    },
    post(message) {
      if (awaited++ === 0) worker.ref();
      worker.postMessage(message);
    },
    listen(onReply, onError) {
      void ready.then(() => {
        worker.on("message", (message: unknown) => {
          if (--awaited === 0) worker.unref();
          onReply(message);
        });
        worker.on("error", onError);
        worker.on("exit", (code) => {
          if (!stopped) onError(new Error(`${label} exited with code ${code}`));
        });
      }, onError);
    },
  };
}

export const nodePlatform: Platform = {
  storage: nodeStorage,
  cpuCount: availableParallelism,
  startWorker,
  processOwner() {
    return { pid: process.pid, host: hostname() };
  },
  isProcessAlive(pid) {
    try {
      process.kill(pid, 0); // signal 0 only checks; on Windows too
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by another user
    }
  },
  webGpu: nodeWebGpu,
};
