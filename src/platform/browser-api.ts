/**
 * The few browser APIs the browser platform uses, typed here because the library compiles without
 * the DOM typings (its Node build must not see them). Shapes follow the WHATWG File System and HTML
 * standards, reduced to the members used.
 */

export interface FsWritable {
  write(data: Uint8Array): Promise<void>;
  seek(position: number): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** A synchronous access handle: only in dedicated Workers. */
export interface FsSyncHandle {
  getSize(): number;
  write(data: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

export interface FsHandle {
  readonly kind: "file" | "directory";
  readonly name: string;
  move(parent: FsDirectoryHandle, name: string): Promise<void>;
}

export interface FsFileHandle extends FsHandle {
  readonly kind: "file";
  getFile(): Promise<Blob & { lastModified: number }>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<FsWritable>;
  createSyncAccessHandle?: () => Promise<FsSyncHandle>;
}

export interface FsDirectoryHandle extends FsHandle {
  readonly kind: "directory";
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<FsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FsFileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
}

interface WorkerLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}

/** The browser globals used, read from globalThis. */
export interface BrowserGlobals {
  navigator: {
    hardwareConcurrency?: number;
    storage: { getDirectory(): Promise<FsDirectoryHandle> };
  };
  crossOriginIsolated?: boolean;
  document?: unknown;
  Worker: new (url: string, options?: { name?: string }) => WorkerLike;
}

/** The globals of the browser the code runs in. */
export function browser(): BrowserGlobals {
  return globalThis as unknown as BrowserGlobals;
}
