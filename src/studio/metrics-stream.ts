/**
 * Runs' metrics.jsonl files as server-sent events on one connection (a browser opens at most six per
 * host, fewer than the runs a page overlays): the lines already written (from a byte offset, for a
 * client that fetched the file's start as a plain file, which is much cheaper to send and parse), then
 * each new complete line as the trainer appends it. The file is read only from the last offset (never again from its start),
 * woken by fs.watch on the run directory, with a once-a-second size check as a fallback where watching
 * misses events (network file systems). Every event's first data line is the run's id; then:
 *
 *   event: lines     one metrics line per data line (a whole read's worth of lines per event)
 *   event: replayed  the lines that existed when the stream opened (past the offset) have all been sent
 *   event: reset     the file became shorter (a resumed run drops the records after its checkpoint):
 *                    forget this run's lines, they are sent again from the start
 *   event: status    status.json's contents, when it changes
 *
 * @example
 *   import { createServer } from "node:http";
 *   createServer((req, res) => {
 *     const stop = streamMetrics([{ id: "demo", dir: "/srv/runs/demo" }], res);
 *     req.on("close", stop);
 *   });
 */
import { constants, watch, type FSWatcher } from "node:fs";
import { lstat, open, readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import { RUN_FILES } from "../run/index.js";

/** How often the fallback checks the file's size, in ms (the issue's bound for a new line to show). */
const FALLBACK_MS = 1000;

/** Streams the runs' metrics to `res` until the returned function is called. */
export function streamMetrics(runs: { id: string; dir: string; offset?: number }[], res: ServerResponse): () => void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
  });
  let closed = false;
  const send = (id: string, event: string, data: string): void => {
    if (!closed)
      res.write(
        `event: ${event}\n${[id, ...(data === "" ? [] : data.split("\n"))].map((l) => `data: ${l}`).join("\n")}\n\n`,
      );
  };
  const stops = runs.map(({ id, dir, offset }) => tailRun(dir, offset ?? 0, (event, data) => send(id, event, data)));
  return () => {
    closed = true;
    for (const stop of stops) stop();
  };
}

/** Follows one run's metrics and status, handing each event to `send` until the returned function is called. */
function tailRun(runDir: string, from: number, send: (event: string, data: string) => void): () => void {
  const path = join(runDir, RUN_FILES.metrics);
  let offset = from;
  let partial = "";
  let reading = false;
  let again = false;
  let closed = false;
  let lastStatus = "";

  /** Reads what was appended since `offset` and sends its complete lines (one read at a time). */
  const readMore = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const size = (await lstat(path).catch(() => null))?.size ?? 0;
        if (size < offset) {
          offset = 0;
          partial = "";
          send("reset", "");
        }
        if (size === offset) continue;
        // Never through a link: the run was checked to hold its own metrics.jsonl, and must keep doing so.
        const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          const buffer = Buffer.alloc(size - offset);
          const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
          offset += bytesRead;
          const text = partial + buffer.subarray(0, bytesRead).toString("utf8");
          const cut = text.lastIndexOf("\n");
          partial = text.slice(cut + 1); // an incomplete last line waits for its newline
          const lines = text
            .slice(0, cut + 1)
            .split("\n")
            .filter((l) => l.trim() !== "");
          if (lines.length > 0) send("lines", lines.join("\n"));
        } finally {
          await file.close();
        }
      } while (again && !closed);
    } finally {
      reading = false;
    }
  };

  /** Sends status.json when its contents changed. */
  const readStatus = async (): Promise<void> => {
    const text = await readFile(join(runDir, RUN_FILES.status), {
      encoding: "utf8",
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    }).catch(() => "");
    if (text !== "" && text !== lastStatus) {
      lastStatus = text;
      send("status", text.trim());
    }
  };

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(runDir, (_event, name) => {
      if (name === RUN_FILES.metrics) void readMore().catch(() => undefined);
      else if (name === RUN_FILES.status) void readStatus();
    });
    watcher.on("error", () => undefined); // the run folder removed: the fallback keeps answering
  } catch {
    watcher = null; // no watching here: the fallback alone
  }
  const timer = setInterval(() => {
    void readMore().catch(() => undefined);
    void readStatus();
  }, FALLBACK_MS);
  void readMore()
    .then(() => send("replayed", ""))
    .then(readStatus)
    .catch(() => undefined);

  return () => {
    closed = true;
    clearInterval(timer);
    watcher?.close();
  };
}
