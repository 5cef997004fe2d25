/**
 * The studio's HTTP server: the web pages, and a JSON API over the runs folder (read through
 * RunsFolder, metrics streamed by streamMetrics, models used through ModelCache, jobs started as
 * child processes by TrainJobs). Every answer carries the cross-origin isolation headers the browser
 * training page needs for SharedArrayBuffer, unless turned off.
 *
 *   GET  /api/info                      pages built, corpora of the data folder, form fields, jobs, run ids
 *   GET  /api/runs                      every run with its status and figures
 *   GET  /api/runs/:id                  config.json, status, checkpoints
 *   GET  /api/runs/:id/metrics          server-sent events (metrics-stream.ts)
 *   GET  /api/metrics?run=a&run=b       the same for several runs on one connection (&offset=N&offset=M: from
 *                                       those bytes on, after the client fetched the files' start)
 *   GET  /api/runs/:id/curves           the run's curves as columns, one binary block (src/run/curve-columns.ts)
 *   GET  /api/runs/:id/files/:name      a file of the run layout (runs-api.ts)
 *   POST /api/tokenize  {run, text}                        the run's tokenizer
 *   GET  /api/runs/:id/evaluations      a fine-tuning run's evaluations with their confusion matrices
 *   POST /api/fill      {run, checkpoint?, text, topK?}    the fill-mask pipeline
 *   POST /api/classify  {run, checkpoint?, text}           a classifier's labels and scores
 *   POST /api/neighbours {run, checkpoint?, sentences}     cosine similarities of the sentences' vectors
 *   POST /api/train     {corpus, name?, settings}          a child `mlm train`; 400 {field, error, errors}
 *   POST /api/finetune  {from, data, name?, settings}      a child `mlm finetune` from run `from`
 *   POST /api/runs/:id/stop                                SIGINT to its trainer: a job of this server, or
 *                                                          an mlm train/finetune of this user on this host
 *   POST /api/runs/:id/resume                              a job that resumes an interrupted run
 *   POST /api/runs/:id/rename {name}                       renames a run that is not training
 *   DELETE /api/runs/:id                                   deletes a run that is not training
 *
 * @example
 *   const studio = await startStudio({ runsDir: "runs", dataDir: "data" });
 *   console.log(studio.url);   // http://127.0.0.1:41234/?token=...
 *   await studio.close();
 */
import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { projectRoot } from "../data/paths.js";
import { RequestGuard } from "./guard.js";
import { HttpError, readJsonBody, sendJson, stringField } from "./http.js";
import { ModelCache } from "./inference.js";
import { streamMetrics } from "./metrics-stream.js";
import { RunsFolder } from "./runs-api.js";
import { contentType, STUDIO_PAGE, WebPages } from "./static-files.js";
import { stopTrainerOf } from "./stop-run.js";
import { FINETUNE_FORM_SETTINGS, formFields, TrainJobs } from "./train-jobs.js";

export interface StudioOptions {
  runsDir: string;
  dataDir: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** COOP/COEP/CORP headers on every answer (default true), so pages can use SharedArrayBuffer. */
  crossOriginIsolation?: boolean;
  /** The built pages (default dist/web of the package). */
  webDir?: string;
  /** --cache-dir of the training jobs it starts. */
  cacheDir?: string;
  /** How long `close` waits for the jobs it stops to save their checkpoints (default 60 s). */
  stopWaitMs?: number;
}

export interface Studio {
  /** The page's address with the token: what `mlm studio` prints. */
  url: string;
  token: string;
  /** The origin, without path or token. */
  origin: string;
  /**
   * Stops the jobs it started (one SIGINT each: they save checkpoints), the streams and the server;
   * returns the runs whose jobs were still saving when the wait ended.
   */
  close(): Promise<string[]>;
}

const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const GONE = "no such file: it was renamed or deleted while being read";

/** Files of the data folder the forms offer (directly inside it): corpora to pre-train on, or labelled files to fine-tune on. */
async function corpora(dataDir: string, kinds = /\.(txt|tsv|jsonl)$/i): Promise<string[]> {
  const entries = await readdir(dataDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && kinds.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** Starts the studio's server; resolves once it listens. */
export async function startStudio(options: StudioOptions): Promise<Studio> {
  const host = options.host ?? "127.0.0.1";
  for (const [what, dir] of [
    ["runs folder", options.runsDir],
    ["data folder", options.dataDir],
  ] as const) {
    const info = await stat(dir).catch(() => null);
    if (info === null || !info.isDirectory()) throw new Error(`${dir}: no such directory (the ${what})`);
  }
  const runs = new RunsFolder(await realpath(options.runsDir));
  const dataDir = await realpath(options.dataDir);
  const pages = new WebPages(options.webDir ?? join(projectRoot(), "dist", "web"));
  const models = new ModelCache();
  const jobs = new TrainJobs({ runsDir: runs.root, dataDir, cacheDir: options.cacheDir });
  const streams = new Set<() => void>();
  let guard: RequestGuard | null = null;

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, g: RequestGuard): Promise<void> => {
    g.checkApi(req, url);
    // Path segments are decoded one by one, so an encoded "/" stays inside its segment (and is refused there).
    const seg = url.pathname
      .split("/")
      .slice(2)
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          throw new HttpError(400, "malformed path");
        }
      });
    const method = req.method ?? "GET";
    const route = `${method} ${seg[0] ?? ""}`;
    if (route === "GET info" && seg.length === 1)
      return sendJson(res, 200, {
        pages: pages.pages().filter((p) => p !== STUDIO_PAGE),
        corpora: await corpora(dataDir),
        labelled: await corpora(dataDir, /\.(tsv|csv|jsonl)$/i),
        runs: await runs.ids(),
        formSettings: formFields(),
        finetuneSettings: formFields(FINETUNE_FORM_SETTINGS),
        jobs: jobs.describe(),
      });
    if (route === "GET runs" && seg.length === 1)
      return sendJson(res, 200, { runs: await runs.list(), jobs: jobs.describe() });
    if (route === "GET runs" && seg.length === 2) return sendJson(res, 200, await runs.detail(seg[1]));
    const metricsOf = route === "GET runs" && seg.length === 3 && seg[2] === "metrics" ? [seg[1]] : null;
    const manyMetrics = route === "GET metrics" && seg.length === 1 ? url.searchParams.getAll("run") : null;
    const ids = metricsOf ?? manyMetrics;
    if (ids !== null) {
      if (ids.length === 0) throw new HttpError(400, "name the runs: /api/metrics?run=ID&run=ID");
      const offsets = url.searchParams.getAll("offset").map(Number);
      if (
        offsets.length > 0 &&
        (offsets.length !== ids.length || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      )
        throw new HttpError(400, "offset: one whole number >= 0 per run, in the order of the runs");
      const tails = await Promise.all(ids.map(async (id, i) => ({ id, dir: await runs.dir(id), offset: offsets[i] })));
      const stop = streamMetrics(tails, res);
      streams.add(stop);
      req.on("close", () => {
        stop();
        streams.delete(stop);
      });
      return;
    }
    if (route === "GET runs" && seg.length === 3 && seg[2] === "curves") {
      const block = await runs.curves(seg[1]);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Cache-Control": "no-store" });
      res.end(block);
      return;
    }
    if (route === "GET runs" && seg.length >= 4 && seg[2] === "files") {
      const path = await runs.file(seg[1], seg.slice(3).join("/"));
      res.writeHead(200, { "Content-Type": contentType(path), "Cache-Control": "no-store" });
      createReadStream(path).pipe(res);
      return;
    }
    if (route === "GET runs" && seg.length === 3 && seg[2] === "evaluations")
      return sendJson(res, 200, { evaluations: await runs.evaluations(seg[1]) });
    if (route === "POST runs" && seg.length === 3 && seg[2] === "stop") {
      const dir = await runs.dir(seg[1]);
      if (jobs.isRunning(seg[1])) jobs.stop(seg[1]);
      else await stopTrainerOf(dir);
      return sendJson(res, 202, { stopping: seg[1] });
    }
    if (route === "POST runs" && seg.length === 3 && seg[2] === "resume") {
      const listing = await runs.listing(seg[1]);
      if (!["interrupted", "stopped"].includes(listing.status))
        throw new HttpError(409, `${seg[1]} is ${listing.status}: only an interrupted or stopped run resumes`);
      return sendJson(res, 201, jobs.resume(seg[1], await runs.dir(seg[1]), listing.task));
    }
    if (route === "POST runs" && seg.length === 3 && seg[2] === "rename") {
      const name = stringField(await readJsonBody(req), "name");
      await runs.checkIdle(seg[1], jobs.isRunning(seg[1]));
      await runs.rename(seg[1], name);
      jobs.renamed(seg[1], name);
      return sendJson(res, 200, { id: name });
    }
    if (method === "DELETE" && seg[0] === "runs" && seg.length === 2) {
      await runs.checkIdle(seg[1], jobs.isRunning(seg[1]));
      await runs.remove(seg[1]);
      jobs.forget(seg[1]);
      return sendJson(res, 200, { deleted: seg[1] });
    }
    if (route === "POST fill" && seg.length === 1) {
      const body = await readJsonBody(req);
      const checkpoint = await runs.checkpoint(
        stringField(body, "run"),
        stringField(body, "checkpoint", { optional: true }) || "best",
      );
      return sendJson(res, 200, { predictions: await models.fill(checkpoint, stringField(body, "text"), body.topK) });
    }
    if ((route === "POST classify" || route === "POST neighbours") && seg.length === 1) {
      const body = await readJsonBody(req);
      const checkpoint = await runs.checkpoint(
        stringField(body, "run"),
        stringField(body, "checkpoint", { optional: true }) || "best",
      );
      if (route === "POST classify")
        return sendJson(res, 200, { labels: await models.classify(checkpoint, stringField(body, "text")) });
      return sendJson(res, 200, await models.neighbours(checkpoint, body.sentences));
    }
    if (route === "POST finetune" && seg.length === 1)
      return sendJson(res, 201, await jobs.startFinetune(await readJsonBody(req), (id) => runs.dir(id)));
    if (route === "POST tokenize" && seg.length === 1) {
      const body = await readJsonBody(req);
      return sendJson(
        res,
        200,
        await models.tokenize(await runs.dir(stringField(body, "run")), stringField(body, "text")),
      );
    }
    if (route === "POST train" && seg.length === 1)
      return sendJson(res, 201, await jobs.start(await readJsonBody(req)));
    throw new HttpError(
      seg[0] === "runs" ||
        ["info", "metrics", "fill", "classify", "neighbours", "tokenize", "train", "finetune"].includes(seg[0])
        ? 405
        : 404,
      `no such API: ${method} ${url.pathname}`,
    );
  };

  const page = async (req: IncomingMessage, res: ServerResponse, url: URL, g: RequestGuard): Promise<void> => {
    g.checkHost(req);
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "pages are read with GET");
    const parts = url.pathname.split("/").filter((p) => p !== "");
    if (parts.length === 1 && pages.pages().includes(parts[0]) && !url.pathname.endsWith("/")) {
      res.writeHead(301, { Location: `/${parts[0]}/${url.search}` });
      res.end();
      return;
    }
    const file = await pages.resolve(url.pathname);
    if (file === null || !(await stat(file)).isFile()) throw new HttpError(404, `no such page: ${url.pathname}`);
    const headers: Record<string, string> = { "Content-Type": contentType(file), "Cache-Control": "no-cache" };
    // A page opened with the printed URL keeps the token in a cookie that only this origin's requests carry.
    if (g.matches(url.searchParams.get("token"))) headers["Set-Cookie"] = g.cookie();
    res.writeHead(200, headers);
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  };

  const server = createServer((req, res) => {
    if (options.crossOriginIsolation !== false)
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    const g = guard!;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://studio.invalid");
    } catch {
      return sendJson(res, 400, { error: "malformed URL" });
    }
    const handler = url.pathname === "/api" || url.pathname.startsWith("/api/") ? api : page;
    handler(req, res, url, g).catch((caught: unknown) => {
      // A file that went away while it was read (its run renamed or deleted meanwhile) is not there: 404.
      const err = (caught as NodeJS.ErrnoException)?.code === "ENOENT" ? new HttpError(404, GONE) : caught;
      const status = err instanceof HttpError ? err.status : 500;
      const body: Record<string, unknown> = { error: err instanceof HttpError ? err.message : "internal error" };
      if (err instanceof HttpError && err.field !== undefined) body.field = err.field;
      if (err instanceof HttpError && err.errors !== undefined) body.errors = err.errors;
      if (!(err instanceof HttpError)) process.stderr.write(`mlm studio: ${(err as Error)?.stack ?? String(err)}\n`);
      if (res.headersSent) res.end();
      else sendJson(res, status, body);
      req.resume(); // an unread body (413 before reading it) must not stall the connection
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  guard = new RequestGuard(host, port);
  let closing = false;
  void runs.warm(() => closing);
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    origin,
    token: guard.token,
    url: `${origin}/?token=${guard.token}`,
    async close() {
      closing = true;
      for (const stop of streams) stop();
      const stillSaving = await jobs.stopAll(options.stopWaitMs);
      models.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return stillSaving;
    },
  };
}
