/**
 * Downloading a dataset file over HTTP(S) with Node's global `fetch`.
 *
 * The body is streamed into a temporary file next to the destination and renamed into place only when
 * complete (`writeFileAtomic`), so an interrupted download never leaves a half file under the final
 * name. Redirects are followed (fetch does it). A progress bar runs when the server sends a
 * content-length.
 *
 * What arrives is looked at before it is kept: an HTML page (a login wall, an error page served with
 * status 200, a web page instead of the raw file) is refused, by its Content-Type or its first bytes,
 * and with `columns` the first line must have that many tab-separated fields. With `expect`, the bytes
 * must have that SHA-256 (and size): a file published once (GLUE's SST-2 zip) is checked whole before
 * it is kept, so a changed mirror or a corrupted transfer is refused. A refused download leaves
 * nothing behind.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { createProgress } from "../util/progress.js";

/** The tutorial's Italian-English Tatoeba pairs (4-column TSV). */
export const DEFAULT_DATASET_URL = "https://huggingface.co/morenolq/m2l_2022_nlp/resolve/main/it-en.tsv";

export interface DownloadOptions {
  /** Show a progress bar (default true; plain log lines when stderr is not a terminal). */
  progress?: boolean;
  /** Print nothing at all. */
  silent?: boolean;
  /** Abort when the whole download takes longer than this (milliseconds). Default: no limit. */
  timeoutMs?: number;
  /** Expect a TSV file with this many tab-separated columns on its first line (4 for the tutorial's). */
  columns?: number;
  /** The file's known SHA-256 (lowercase hex) and, when known, its size: anything else is refused. */
  expect?: { sha256: string; bytes?: number };
}

/** Bytes looked at to judge the content: the first line must end within them. */
const HEAD_BYTES = 1 << 16;

export interface DownloadResult {
  path: string;
  bytes: number;
  /** The URL the content came from, after redirects. */
  finalUrl: string;
  /** SHA-256 of the bytes saved, lowercase hex. */
  sha256: string;
}

/**
 * Downloads `url` to `destPath` (folders created as needed), atomically.
 * Errors are one line: HTTP status, unreachable host, or a body cut short.
 *
 * @example
 *   const { bytes } = await downloadFile(DEFAULT_DATASET_URL, "data/it-en.tsv");
 */
export async function downloadFile(
  url: string,
  destPath: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid URL "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new Error(`only http and https URLs are supported, got "${url}"`);

  let response: Response;
  try {
    // Ask for the bytes as they are: with a compressed response, content-length counts compressed bytes.
    response = await fetch(url, {
      redirect: "follow",
      headers: { "accept-encoding": "identity" },
      signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
    });
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${describeFetchError(err)}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(
      `HTTP ${response.status}${response.statusText ? " " + response.statusText : ""} for ${response.url || url}`,
    );
  }
  if (response.body === null) throw new Error(`empty response from ${url}`);
  const contentType = response.headers.get("content-type") ?? "";
  if (/^\s*(text\/html|application\/xhtml)/i.test(contentType)) {
    await response.body.cancel().catch(() => undefined);
    throw new Error(
      `${response.url || url} answered with a web page (Content-Type ${contentType}), not a data file; nothing was saved`,
    );
  }

  // A server may compress anyway; fetch then decompresses and content-length no longer counts our bytes.
  const encoding = response.headers.get("content-encoding");
  const lengthHeader = encoding === null || encoding === "identity" ? response.headers.get("content-length") : null;
  const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  const known = options.expect;
  if (known?.bytes !== undefined && expected !== null && expected !== known.bytes) {
    await response.body.cancel().catch(() => undefined);
    throw new Error(
      `${response.url || url} announces ${expected} bytes, the expected file has ${known.bytes}; nothing was saved`,
    );
  }
  const hash = createHash("sha256");
  const bar = createProgress({
    label: `download ${basename(destPath)}`,
    total: expected ?? 0,
    silent: options.silent || options.progress === false,
  });
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  let bytes = 0;
  let bodyFailed = false;
  let sha256 = "";
  let head: Uint8Array[] | null = []; // the first bytes, until they are judged
  const judge = (chunks: Uint8Array[], complete: boolean): void => {
    const reason = contentProblem(Buffer.concat(chunks), complete, options.columns);
    if (reason !== null) {
      bodyFailed = true;
      throw new Error(`${response.url || url}: ${reason}; nothing was saved`);
    }
  };
  // The body's chunks as they arrive; a cut connection or a short body ends the write with an error.
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        if (head !== null) {
          head.push(chunk);
          if (bytes + chunk.length >= HEAD_BYTES || chunk.includes(0x0a)) {
            judge(head, false);
            head = null;
          }
        }
        bytes += chunk.length;
        hash.update(chunk);
        bar.update(expected === null ? bytes : Math.min(bytes, expected), formatBytes(bytes));
        yield chunk;
      }
    } catch (err) {
      if (bodyFailed) throw err; // refused content
      bodyFailed = true;
      throw new Error(`connection to ${url} failed after ${formatBytes(bytes)}: ${describeFetchError(err)}`);
    }
    if (head !== null) judge(head, true);
    if (expected !== null && bytes !== expected) {
      bodyFailed = true;
      throw new Error(`${url} ended after ${bytes} of ${expected} bytes`);
    }
    sha256 = hash.digest("hex");
    if (known !== undefined && (sha256 !== known.sha256 || (known.bytes !== undefined && bytes !== known.bytes))) {
      bodyFailed = true;
      const want = `${known.bytes === undefined ? "" : `${known.bytes} bytes, `}SHA-256 ${known.sha256.slice(0, 16)}...`;
      throw new Error(
        `${response.url || url}: got ${bytes} bytes with SHA-256 ${sha256.slice(0, 16)}..., expected ${want}; nothing was saved`,
      );
    }
  }
  try {
    await writeFileAtomic(destPath, chunks());
  } catch (err) {
    throw bodyFailed ? err : new Error(`cannot write ${destPath}: ${(err as Error).message}`);
  } finally {
    bar.stop();
  }
  return { path: destPath, bytes, finalUrl: response.url || url, sha256 };
}

/**
 * Why the first bytes of a download are not the expected file, or null when they may be: an HTML page,
 * or (with `columns`) a first line without that many tab-separated fields. `complete`: the whole body.
 */
function contentProblem(head: Uint8Array, complete: boolean, columns: number | undefined): string | null {
  const text = new TextDecoder().decode(head.subarray(0, HEAD_BYTES));
  if (/^\s*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i.test(text))
    return "the answer is a web page (HTML), not a data file";
  if (columns === undefined) return null;
  const newline = text.indexOf("\n");
  if (newline === -1 && !complete)
    return `no line break in the first ${HEAD_BYTES} bytes; expected a TSV file with ${columns} tab-separated columns`;
  const first = (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, "");
  const found = first.split("\t").length;
  if (found !== columns)
    return (
      `the first line has ${found} tab-separated column${found === 1 ? "" : "s"}, expected ${columns} ` +
      `(id_it, sent_it, id_en, sent_en): "${first.slice(0, 60)}"`
    );
  return null;
}

/** fetch hides the reason in `cause` ("fetch failed" + ECONNREFUSED, ENOTFOUND...). */
function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  const cause = e?.cause;
  if (cause && (cause.code || cause.message)) return [cause.code, cause.message].filter(Boolean).join(" ");
  return e?.message ?? String(err);
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
