/** A Storage held in memory, to show that the run module touches nothing but the storage it is given. */
import { posix } from "node:path";
import type { AppendFile, EntryInfo, FileData, Storage } from "../../src/platform/index.js";

/** Paths are POSIX-style strings relative to an imaginary root "/". */
export class MemoryStorage implements Storage {
  readonly files = new Map<string, { bytes: Uint8Array; modifiedMs: number }>();
  readonly path = posix;
  private clock = 0;

  private key(path: string): string {
    return posix.resolve("/", path);
  }

  private isDir(key: string): boolean {
    const prefix = key === "/" ? "/" : `${key}/`;
    for (const k of this.files.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  async stat(path: string): Promise<EntryInfo | null> {
    const key = this.key(path);
    const file = this.files.get(key);
    if (file) return { kind: "file", modifiedMs: file.modifiedMs };
    return this.isDir(key) ? { kind: "directory", modifiedMs: 0 } : null;
  }

  async list(dir: string): Promise<string[]> {
    const prefix = `${this.key(dir)}/`.replace("//", "/");
    const names = new Set<string>();
    for (const k of this.files.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split("/")[0]);
    return [...names];
  }

  async readBytes(path: string): Promise<Uint8Array> {
    const file = this.files.get(this.key(path));
    if (!file) throw new Error(`${path}: file not found`);
    return file.bytes.slice();
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(path));
  }

  async writeAtomic(path: string, data: FileData): Promise<void> {
    const chunks =
      typeof data === "string" ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    this.files.set(this.key(path), { bytes, modifiedMs: ++this.clock });
  }

  async createExclusive(path: string, text: string): Promise<boolean> {
    if ((await this.stat(path)) !== null) return false;
    await this.writeAtomic(path, text);
    return true;
  }

  async openAppend(path: string, options: { truncate?: boolean } = {}): Promise<AppendFile> {
    const key = this.key(path);
    if (options.truncate || !this.files.has(key)) await this.writeAtomic(path, "");
    let open = true;
    return {
      append: (data) => {
        if (!open) throw new Error(`${path}: appending after close`);
        const old = this.files.get(key)?.bytes ?? new Uint8Array();
        const add = typeof data === "string" ? new TextEncoder().encode(data) : data;
        const bytes = new Uint8Array(old.length + add.length);
        bytes.set(old);
        bytes.set(add, old.length);
        this.files.set(key, { bytes, modifiedMs: ++this.clock });
      },
      close: async () => {
        open = false;
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.key(from);
    const dst = this.key(to);
    if (!this.files.has(src) && !this.isDir(src)) throw new Error(`${from}: file not found`);
    for (const [k, v] of [...this.files]) {
      if (k === src || k.startsWith(`${src}/`)) {
        this.files.delete(k);
        this.files.set(dst + k.slice(src.length), v);
      }
    }
  }

  async remove(path: string): Promise<void> {
    const key = this.key(path);
    for (const k of [...this.files.keys()]) if (k === key || k.startsWith(`${key}/`)) this.files.delete(k);
  }
}
