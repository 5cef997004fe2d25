/**
 * Crash-safe file writes: the one temp-then-rename writer of the project (tokenizer.json, the token
 * cache, downloads, and the Node storage of run directories all write through it).
 *
 * The data goes to a uniquely named temp file next to the target (`<path>.tmp-<pid>-<random>`), which
 * is fsynced, renamed over the target (rename is atomic within one file system), and then the
 * directory is fsynced, so a reader sees either the old file or the complete new one, never a torn
 * write, even after a power loss on a file system that honours fsync. When anything fails the temp
 * file is removed and the old file is untouched.
 *
 * @example
 *   writeFileAtomicSync("runs/a/tokenizer.json", tokenizer.toString());
 *   await writeFileAtomic("data/it-en.tsv", chunks); // streamed from an async iterable of byte arrays:
 *                                                    // never a half file under the name
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

/** Bytes to write: a string (written as UTF-8), one byte array, or several written back to back. */
export type FileData = string | Uint8Array | readonly Uint8Array[];

/** A unique name next to `path` for its temp file (or temp directory). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

function chunksOf(data: FileData): readonly Uint8Array[] {
  return typeof data === "string" ? [Buffer.from(data, "utf8")] : data instanceof Uint8Array ? [data] : data;
}

/**
 * Makes a directory's entries (renames, new files) durable. Some platforms (Windows) cannot open or
 * fsync a directory; there it is skipped, since rename is the best available guarantee.
 */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `data` atomically (folders created as needed); see the module comment.
 *
 * @example
 *   writeFileAtomicSync("runs/a/model.safetensors", writeSafetensors(tensors));
 */
export function writeFileAtomicSync(path: string, data: FileData): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const fd = openSync(temp, "wx");
  try {
    try {
      for (const chunk of chunksOf(data)) {
        let done = 0;
        while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/**
 * Replaces `path` with `data` atomically, as `writeFileAtomicSync`, and also takes a stream of
 * chunks (e.g. a download): they are written as they come, and an error thrown by the stream (a cut
 * connection, a size check) removes the temp file and leaves `path` as it was.
 *
 * @example
 *   await writeFileAtomic("data/cache/train.tok", bytes);
 */
export async function writeFileAtomic(path: string, data: FileData | AsyncIterable<Uint8Array>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const file = await open(temp, "wx");
  try {
    try {
      const chunks = typeof data === "object" && Symbol.asyncIterator in data ? data : chunksOf(data);
      for await (const chunk of chunks) {
        let done = 0;
        while (done < chunk.byteLength) done += (await file.write(chunk, done, chunk.byteLength - done)).bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}
