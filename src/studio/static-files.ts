/**
 * The web pages, served from dist/web/<page>/ as scripts/build-web.js writes them: the studio at `/`,
 * any other page at `/<page>/` (e.g. `/train/`). Only files that exist under the page's folder are
 * served (resolved with symbolic links followed), with their content type.
 *
 * @example
 *   const pages = new WebPages("dist/web");
 *   await pages.resolve("/train/main.js");   // ".../dist/web/train/main.js", or null
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { insideFolder } from "./safe-path.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".png": "image/png",
  ".onnx": "application/octet-stream",
};

/** The content type of a file by its extension (bytes when unknown). */
export const contentType = (path: string): string =>
  CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";

/** The studio's own page's folder name under dist/web. */
export const STUDIO_PAGE = "studio";

export class WebPages {
  constructor(readonly root: string) {}

  /** The pages built (folders of dist/web), the studio's first. */
  pages(): string[] {
    if (!existsSync(this.root)) return [];
    const names = readdirSync(this.root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    return names.sort((a, b) => (a === STUDIO_PAGE ? -1 : b === STUDIO_PAGE ? 1 : a.localeCompare(b)));
  }

  /** The file a URL path names, or null: `/x` is the studio's x, `/<page>/x` another page's (index.html for a folder). */
  async resolve(urlPath: string): Promise<string | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    const parts = decoded.split("/").filter((p) => p !== "");
    const pages = this.pages();
    const [page, rest] =
      parts.length > 0 && parts[0] !== STUDIO_PAGE && pages.includes(parts[0])
        ? [parts[0], parts.slice(1)]
        : [STUDIO_PAGE, parts];
    if (!pages.includes(page)) return null;
    const name = rest.length === 0 || decoded.endsWith("/") ? [...rest, "index.html"].join("/") : rest.join("/");
    try {
      return await insideFolder(join(this.root, page), name);
    } catch {
      return this.packagedAsset(page, name);
    }
  }

  /**
   * A data file the page's assets.json lists (e.g. "data/tatoeba-en.txt" for `/train/tatoeba-en.txt`),
   * read from the package's own copy: the npm package carries each data file once, in data/, not again
   * beside the page.
   */
  private async packagedAsset(page: string, name: string): Promise<string | null> {
    const list = join(this.root, page, "assets.json");
    if (!existsSync(list)) return null;
    const assets = JSON.parse(readFileSync(list, "utf8")) as string[];
    const asset = assets.find((a) => a.split("/").pop() === name);
    if (asset === undefined) return null;
    try {
      return await insideFolder(join(this.root, "..", ".."), asset);
    } catch {
      return null;
    }
  }
}
