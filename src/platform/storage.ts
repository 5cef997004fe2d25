/**
 * Where run directories live: a small file-system interface, so that the run module works the same on
 * Node (node:fs, `nodeStorage`) and in a browser (the origin-private file system, `opfsStorage`).
 * Methods are asynchronous because browser storage is.
 *
 * Paths are strings in the storage's own syntax (`path` joins and splits them). Errors are one line
 * naming the path.
 *
 * @example
 *   const { storage } = platform();
 *   await storage.writeAtomic(storage.path.join("runs", "a", "config.json"), "{}\n");
 *   await storage.list("runs/a"); // ["config.json"]
 */
import type { FileData } from "../util/atomic-write.js";

export type { FileData } from "../util/atomic-write.js";

/** Joining and splitting paths (node:path's functions of the same names on Node). */
export interface PathSyntax {
  join(...parts: string[]): string;
  /** The absolute form of a path (on Node, relative to the working directory). */
  resolve(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
}

/** What is at a path. */
export interface EntryInfo {
  kind: "file" | "directory" | "other";
  /** Last modification, in milliseconds since 1970. */
  modifiedMs: number;
  /**
   * Changes whenever another entry comes to this path or this one is renamed or changed (on Node:
   * the inode and its change time); absent where the storage cannot tell. Readers compare it before
   * and after reading a directory that a writer swaps (run/checkpoint.ts).
   */
  version?: string;
}

/** A file open for appending: each `append` hands its data over at once (on Node: one write to the OS). */
export interface AppendFile {
  /** Appends text (as UTF-8) or bytes. */
  append(data: string | Uint8Array): void;
  /** Finishes pending writes and closes the file; closing twice is harmless. */
  close(): Promise<void>;
}

export interface Storage {
  readonly path: PathSyntax;
  /** What is at `path`, or null when nothing is. */
  stat(path: string): Promise<EntryInfo | null>;
  /** Names of the entries of directory `dir`, in no particular order; [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  readBytes(path: string): Promise<Uint8Array>;
  /** The file as UTF-8 text. */
  readText(path: string): Promise<string>;
  /** Replaces `path` with `data` atomically (folders created as needed): readers see the old or the new file. */
  writeAtomic(path: string, data: FileData): Promise<void>;
  /**
   * Creates `path` holding `text` only when nothing is there yet (folders created as needed); returns
   * false when something already is. Of two processes creating the same path, exactly one gets true,
   * and no reader sees the file half written (a lock file is made this way).
   */
  createExclusive(path: string, text: string): Promise<boolean>;
  /** Opens `path` for appending (created with its folders; emptied first with `truncate`). */
  openAppend(path: string, options?: { truncate?: boolean }): Promise<AppendFile>;
  /** Renames a file or directory (atomic within one storage; a durable change on Node). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file or a directory with its contents; nothing when it does not exist. */
  remove(path: string): Promise<void>;
}
