import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { downloadFile, DEFAULT_DATASET_URL, readCorpus } from "../../src/data/index.js";
import { downloadCommand } from "../../src/cli/download.js";
import { captureStderr } from "../cli/capture-stderr.js";
import { tempDir } from "./tiny-tokenizer.js";

const TSV =
  Array.from({ length: 500 }, (_, i) => `${2 * i + 1}\tFrase ${i}.\t${2 * i + 2}\tSentence number ${i}.`).join("\n") +
  "\n";
let server: Server;
let baseUrl = "";
let gzipAskedFor = "";

before(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case "/it-en.tsv":
        res.writeHead(200, { "content-type": "text/tab-separated-values", "content-length": Buffer.byteLength(TSV) });
        // Two writes, so the client sees more than one chunk.
        res.write(TSV.slice(0, 1000));
        setTimeout(() => res.end(TSV.slice(1000)), 5);
        return;
      case "/gzip": {
        // Compresses whatever the client asked for (and records what it asked for).
        gzipAskedFor = String(req.headers["accept-encoding"]);
        const body = gzipSync(TSV);
        res.writeHead(200, { "content-encoding": "gzip", "content-length": body.length });
        res.end(body);
        return;
      }
      case "/login.tsv":
        // A web page served with 200 where the file was expected (a login wall, a "blob" page).
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<!DOCTYPE html><html><body>Sign in</body></html>\n");
        return;
      case "/page-as-text.tsv":
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("\n  <html><head><title>x</title></head></html>\n");
        return;
      case "/three-columns.tsv":
        res.writeHead(200, { "content-type": "text/tab-separated-values" });
        res.end("1\tuno\tone\n2\tdue\ttwo\n");
        return;
      case "/redirect":
        res.writeHead(302, { location: "/it-en.tsv" });
        res.end();
        return;
      case "/cut":
        // Promises 100000 bytes, sends 10, then drops the connection.
        res.writeHead(200, { "content-length": "100000" });
        res.write("1\ta\t2\tb\n.");
        setTimeout(() => res.socket?.destroy(), 5);
        return;
      default:
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not here");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

test("downloads to the destination (folders created), readable as the tutorial's TSV", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = join(dir, "nested", "it-en.tsv");
    const r = await downloadFile(`${baseUrl}/it-en.tsv`, dest, { silent: true });
    assert.equal(r.bytes, Buffer.byteLength(TSV));
    assert.equal(readFileSync(dest, "utf8"), TSV);
    assert.deepEqual(readdirSync(join(dir, "nested")), ["it-en.tsv"], "no temporary file left");
    const { sentences } = await readCorpus(dest);
    assert.equal(sentences.length, 500);
  } finally {
    cleanup();
  }
});

test("asks for uncompressed bytes, and a compressed answer is still saved whole", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = await downloadFile(`${baseUrl}/gzip`, join(dir, "z.tsv"), { silent: true });
    assert.equal(gzipAskedFor, "identity");
    assert.equal(r.bytes, Buffer.byteLength(TSV));
    assert.equal(readFileSync(join(dir, "z.tsv"), "utf8"), TSV);
  } finally {
    cleanup();
  }
});

test("follows redirects", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = await downloadFile(`${baseUrl}/redirect`, join(dir, "x.tsv"), { silent: true });
    assert.equal(r.finalUrl, `${baseUrl}/it-en.tsv`);
    assert.equal(readFileSync(join(dir, "x.tsv"), "utf8"), TSV);
  } finally {
    cleanup();
  }
});

test("HTTP errors, cut connections and unreachable hosts: clear errors, nothing left at the destination", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = join(dir, "it-en.tsv");
    await assert.rejects(
      downloadFile(`${baseUrl}/missing.tsv`, dest, { silent: true }),
      new RegExp(`^Error: HTTP 404 Not Found for ${baseUrl}/missing\\.tsv$`),
    );
    await assert.rejects(
      downloadFile(`${baseUrl}/cut`, dest, { silent: true }),
      /^Error: (connection to .*\/cut failed after \d+ B: .*other side closed|.*\/cut ended after \d+ of 100000 bytes)$/,
    );
    // A port nobody listens on: take a free one, then close it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(
      downloadFile(`http://127.0.0.1:${port}/x`, dest, { silent: true }),
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/x: ECONNREFUSED/,
    );
    await assert.rejects(
      downloadFile("ftp://example.org/x", dest, { silent: true }),
      /only http and https URLs are supported/,
    );
    assert.deepEqual(readdirSync(dir), [], "no half file, no temporary file");
  } finally {
    cleanup();
  }
});

test("mlm download: --url/--out, keeps an existing file unless --force, bad flags and failures", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, "data", "it-en.tsv");
    assert.equal(await downloadCommand(["--url", `${baseUrl}/it-en.tsv`, "--out", out, "--quiet"]), 0);
    assert.equal(readFileSync(out, "utf8"), TSV);
    writeFileSync(out, "local edits");
    assert.equal(await downloadCommand(["--url", `${baseUrl}/it-en.tsv`, "--out", out, "--quiet"]), 0);
    assert.equal(readFileSync(out, "utf8"), "local edits", "not overwritten without --force");
    assert.equal(await downloadCommand(["--url", `${baseUrl}/redirect`, "--out", out, "--quiet", "--force"]), 0);
    assert.equal(readFileSync(out, "utf8"), TSV);

    const missing = join(dir, "missing.tsv");
    const stderr = await captureStderr(() =>
      downloadCommand(["--url", `${baseUrl}/nope`, "--out", missing, "--quiet"]),
    );
    assert.equal(stderr.result, 1);
    assert.match(stderr.text, /^mlm download: HTTP 404 Not Found for .*\/nope\n$/);
    assert.equal(existsSync(missing), false);
    const bad = await captureStderr(() => downloadCommand(["--nope"]));
    assert.equal(bad.result, 2);
    assert.equal(bad.text, "mlm download: unknown option --nope (see mlm download --help)\n");
    assert.equal(DEFAULT_DATASET_URL, "https://huggingface.co/morenolq/m2l_2022_nlp/resolve/main/it-en.tsv");
  } finally {
    cleanup();
  }
});

test("mlm download refuses a web page served with 200 and a TSV without 4 columns; the existing file stays", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, "it-en.tsv");
    writeFileSync(out, TSV);
    const cases: [string, RegExp][] = [
      [
        "/login.tsv",
        /^mlm download: .*\/login\.tsv answered with a web page \(Content-Type text\/html; charset=utf-8\), not a data file; nothing was saved\n$/,
      ],
      [
        "/page-as-text.tsv",
        /^mlm download: .*\/page-as-text\.tsv: the answer is a web page \(HTML\), not a data file; nothing was saved\n$/,
      ],
      [
        "/three-columns.tsv",
        new RegExp(
          /^mlm download: .*\/three-columns\.tsv: the first line has 3 tab-separated columns, expected 4 /.source +
            /\(id_it, sent_it, id_en, sent_en\): "1\tuno\tone"; nothing was saved\n$/.source,
        ),
      ],
    ];
    for (const [path, message] of cases) {
      const r = await captureStderr(() =>
        downloadCommand(["--url", `${baseUrl}${path}`, "--out", out, "--quiet", "--force"]),
      );
      assert.equal(r.result, 1, path);
      assert.match(r.text, message);
      assert.equal(readFileSync(out, "utf8"), TSV, `${path}: the earlier download is intact`);
      assert.deepEqual(readdirSync(dir), ["it-en.tsv"], `${path}: no temporary file left`);
    }
    // Another kind of file (not .tsv) is not held to 4 columns, but never to be a web page.
    assert.equal((await downloadFile(`${baseUrl}/three-columns.tsv`, join(dir, "x.txt"), { silent: true })).bytes, 20);
    await assert.rejects(
      downloadFile(`${baseUrl}/login.tsv`, join(dir, "y.txt"), { silent: true }),
      /answered with a web page/,
    );
  } finally {
    cleanup();
  }
});
