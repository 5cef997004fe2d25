/**
 * Run directories in the browser's origin-private file system (OPFS): the Storage interface over
 * `navigator.storage.getDirectory()`, with paths written like POSIX relative paths from the origin's
 * root ("runs/demo/config.json").
 *
 * Atomic writes use `createWritable()`, which Chromium writes to a swap file and puts in place when the
 * stream closes, so a reader sees the old or the new file. Renames use `FsHandle.move()`.
 * Appends go through a synchronous access handle in a dedicated Worker (each `append` is one write,
 * as on Node) and are queued as asynchronous writes elsewhere. `createExclusive` is exclusive within
 * one thread: two tabs are kept apart by the Web Lock a tab takes on a run before its lock file.
 *
 * @example
 *   await opfsStorage.writeAtomic("runs/a/config.json", "{}\n");
 *   await opfsStorage.list("runs/a"); // ["config.json"]
 */
import type { FileData } from "../util/atomic-write.js";
import {
  browser,
  type FsDirectoryHandle,
  type FsFileHandle,
  type FsHandle,
  type FsSyncHandle,
  type FsWritable,
} from "./browser-api.js";
import type { AppendFile, EntryInfo, PathSyntax, Storage } from "./storage.js";

/** POSIX-like paths relative to the origin's root: "." and ".." resolved, no leading "/". */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

export const opfsPath: PathSyntax = {
  join: (...parts) => normalize(parts.join("/")),
  resolve: (...parts) => normalize(parts.join("/")),
  dirname(path) {
    const p = normalize(path);
    const i = p.lastIndexOf("/");
    return i < 0 ? "" : p.slice(0, i);
  },
  basename(path) {
    const p = normalize(path);
    return p.slice(p.lastIndexOf("/") + 1);
  },
};

const isNotFound = (err: unknown): boolean =>
  err instanceof DOMException && (err.name === "NotFoundError" || err.name === "TypeMismatchError");

/** The directory at `path` (created with its parents when `create`), or null when it does not exist. */
async function directory(path: string, create: boolean): Promise<FsDirectoryHandle | null> {
  let dir = await browser().navigator.storage.getDirectory();
  for (const part of normalize(path).split("/")) {
    if (part === "") continue;
    try {
      dir = await dir.getDirectoryHandle(part, { create });
    } catch (err) {
      if (!create && isNotFound(err)) return null;
      throw new Error(`${path}: cannot ${create ? "create" : "open"} the folder (${(err as Error).message})`);
    }
  }
  return dir;
}

/** The parent folder and name of `path`. */
async function parentOf(path: string, create: boolean): Promise<[FsDirectoryHandle | null, string]> {
  return [await directory(opfsPath.dirname(path), create), opfsPath.basename(path)];
}

async function entry(path: string): Promise<FsHandle | null> {
  const [parent, name] = await parentOf(path, false);
  if (parent === null) return null;
  if (name === "") return parent;
  for (const get of [() => parent.getFileHandle(name), () => parent.getDirectoryHandle(name)]) {
    try {
      return await get();
    } catch (err) {
      if (!isNotFound(err)) throw new Error(`${path}: cannot read (${(err as Error).message})`);
    }
  }
  return null;
}

async function fileHandle(path: string): Promise<FsFileHandle> {
  const handle = await entry(path);
  if (handle === null) throw new Error(`${path}: file not found`);
  if (handle.kind !== "file") throw new Error(`${path}: is a directory, expected a file`);
  return handle as FsFileHandle;
}

/** The data as byte arrays the file APIs take: views of a SharedArrayBuffer (the engine's memory) are copied. */
function chunksOf(data: FileData): readonly Uint8Array[] {
  const chunks =
    typeof data === "string" ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
  return chunks.map(unshared);
}

const unshared = (bytes: Uint8Array): Uint8Array => (bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice());

async function writeAtomic(path: string, data: FileData): Promise<void> {
  const [parent, name] = await parentOf(path, true);
  let writable: FsWritable | undefined;
  try {
    const stream = await parent!.getFileHandle(name, { create: true }).then((h) => h.createWritable());
    writable = stream;
    for (const chunk of chunksOf(data)) await stream.write(chunk);
    await stream.close();
  } catch (err) {
    await writable?.abort().catch(() => {}); // the swap file goes; the old contents stay
    throw new Error(`${path}: cannot write (${(err as Error).message})`);
  }
}

async function openAppend(path: string, options: { truncate?: boolean } = {}): Promise<AppendFile> {
  const [parent, name] = await parentOf(path, true);
  const handle = await parent!.getFileHandle(name, { create: true });
  const encoder = new TextEncoder();
  const bytesOf = (data: string | Uint8Array): Uint8Array =>
    typeof data === "string" ? encoder.encode(data) : unshared(data);
  if (handle.createSyncAccessHandle !== undefined && browser().document === undefined) {
    let sync: FsSyncHandle | null = await handle.createSyncAccessHandle();
    if (options.truncate) sync.truncate(0);
    return {
      append(data) {
        if (sync === null) throw new Error(`${path}: appending after close`);
        const bytes = bytesOf(data);
        let done = 0;
        while (done < bytes.length) done += sync.write(bytes.subarray(done), { at: sync.getSize() });
      },
      async close() {
        if (sync === null) return;
        sync.flush();
        sync.close();
        sync = null;
      },
    };
  }
  // The page's main thread: writes queued in order, each one appended at the file's end.
  let queue: Promise<void> = options.truncate ? writeAtomic(path, "") : Promise.resolve();
  let closed = false;
  return {
    append(data) {
      if (closed) throw new Error(`${path}: appending after close`);
      const bytes = bytesOf(data);
      queue = queue.then(async () => {
        const writable = await handle.createWritable({ keepExistingData: true });
        await writable.seek((await handle.getFile()).size);
        await writable.write(bytes);
        await writable.close();
      });
    },
    async close() {
      closed = true;
      await queue;
    },
  };
}

/**
 * Renames a file with `move()`. A folder is moved file by file into a new folder of the new name, and
 * the emptied old one deleted: Chromium cannot move folders of this file system. So a folder's rename
 * is not atomic: a tab closed in those few milliseconds leaves a checkpoint folder partly moved, which
 * the checkpoint reader refuses, naming the missing file, rather than loading.
 */
async function rename(from: string, to: string): Promise<void> {
  const handle = await entry(from);
  if (handle === null) throw new Error(`${from}: cannot rename: not found`);
  try {
    if (handle.kind === "file") {
      const [parent, name] = await parentOf(to, true);
      await handle.move(parent!, name);
      return;
    }
    if ((await entry(to)) !== null) throw new Error(`${to} exists`);
    await directory(to, true);
    for await (const name of (handle as FsDirectoryHandle).keys())
      await rename(opfsPath.join(from, name), opfsPath.join(to, name));
    const [parent, name] = await parentOf(from, false);
    await parent!.removeEntry(name, { recursive: true });
  } catch (err) {
    throw new Error(`${from}: cannot rename to ${to} (${(err as Error).message})`);
  }
}

/** The origin-private file system as a Storage; see the module comment. */
export const opfsStorage: Storage = {
  path: opfsPath,
  async stat(path): Promise<EntryInfo | null> {
    const handle = await entry(path);
    if (handle === null) return null;
    if (handle.kind === "directory") return { kind: "directory", modifiedMs: 0 };
    return { kind: "file", modifiedMs: (await (handle as FsFileHandle).getFile()).lastModified };
  },
  async list(dir) {
    const handle = await directory(dir, false);
    if (handle === null) return [];
    const names: string[] = [];
    for await (const name of handle.keys()) names.push(name);
    return names;
  },
  async readBytes(path) {
    const file = await (await fileHandle(path)).getFile();
    return new Uint8Array(await file.arrayBuffer());
  },
  async readText(path) {
    const file = await (await fileHandle(path)).getFile();
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
    } catch {
      throw new Error(`${path}: not valid UTF-8 text`);
    }
  },
  writeAtomic,
  async createExclusive(path, text) {
    if ((await entry(path)) !== null) return false;
    await writeAtomic(path, text);
    return true;
  },
  openAppend,
  rename,
  async remove(path) {
    const [parent, name] = await parentOf(path, false);
    if (parent === null) return;
    try {
      await parent.removeEntry(name, { recursive: true });
    } catch (err) {
      if (!isNotFound(err)) throw new Error(`${path}: cannot delete (${(err as Error).message})`);
    }
  },
};
