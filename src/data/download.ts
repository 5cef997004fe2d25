/**
 * Downloading a dataset file over HTTP(S) with Node's global `fetch`.
 *
 * The body is streamed into a temporary file next to the destination and renamed into place only when
 * complete (`writeFileAtomic`), so an interrupted download never leaves a half file under the final
 * name. Redirects are followed (fetch does it). A progress bar runs when the server sends a
 * content-length.
 */
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
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** The URL the content came from, after redirects. */
  finalUrl: string;
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

  // A server may compress anyway; fetch then decompresses and content-length no longer counts our bytes.
  const encoding = response.headers.get("content-encoding");
  const lengthHeader = encoding === null || encoding === "identity" ? response.headers.get("content-length") : null;
  const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  const bar = createProgress({
    label: `download ${basename(destPath)}`,
    total: expected ?? 0,
    silent: options.silent || options.progress === false,
  });
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  let bytes = 0;
  let bodyFailed = false;
  // The body's chunks as they arrive; a cut connection or a short body ends the write with an error.
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        bar.update(expected === null ? bytes : Math.min(bytes, expected), formatBytes(bytes));
        yield chunk;
      }
    } catch (err) {
      bodyFailed = true;
      throw new Error(`connection to ${url} failed after ${formatBytes(bytes)}: ${describeFetchError(err)}`);
    }
    if (expected !== null && bytes !== expected) {
      bodyFailed = true;
      throw new Error(`${url} ended after ${bytes} of ${expected} bytes`);
    }
  }
  try {
    await writeFileAtomic(destPath, chunks());
  } catch (err) {
    throw bodyFailed ? err : new Error(`cannot write ${destPath}: ${(err as Error).message}`);
  } finally {
    bar.stop();
  }
  return { path: destPath, bytes, finalUrl: response.url || url };
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
