// `mlm download sst2` against a local server serving small zips in the layout of GLUE's SST-2.zip
// (built here with fflate): the two labelled files are saved whole and read as a fine-tuning run reads
// them; a zip of another SHA-256 or size, one without a file, one with other columns, and bytes that
// are no zip are refused in one line, with nothing saved and nothing left behind.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { zipSync } from "fflate";
import { defaultsOf } from "../../src/config/index.js";
import { downloadSst2, LABELLED_DATA_OPTIONS, readLabelledSplits, SST2_URL, SST2_ZIP } from "../../src/data/index.js";
import { downloadCommand } from "../../src/cli/download.js";
import { captureStderr } from "../cli/capture-stderr.js";
import { tempDir } from "./tiny-tokenizer.js";

const TRAIN =
  "sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak and desperate \t0\n";
const DEV =
  "sentence\tlabel\na gorgeous , witty , seductive movie . \t1\nthe acting is flat . \t0\nwarm and funny . \t1\n";
const TEST = "index\tsentence\n0\tuneasy mishmash of styles and genres .\n";
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A zip in GLUE's layout: SST-2/ with the three splits and the original treebank files. */
function glueZip(files: Record<string, string> = { "train.tsv": TRAIN, "dev.tsv": DEV, "test.tsv": TEST }): Buffer {
  const entries: Record<string, Uint8Array> = { "SST-2/original/README.txt": text("Stanford Sentiment Treebank\n") };
  for (const [name, body] of Object.entries(files)) entries[`SST-2/${name}`] = text(body);
  return Buffer.from(zipSync(entries));
}

const ZIPS: Record<string, Buffer> = {
  "/SST-2.zip": glueZip(),
  "/no-dev.zip": glueZip({ "train.tsv": TRAIN }),
  "/other-columns.zip": glueZip({ "train.tsv": TRAIN, "dev.tsv": "text\tlabel\nx\t1\n" }),
  "/not-a-zip.zip": Buffer.from("PK but not a zip archive at all\n"),
};
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

let server: Server;
let baseUrl = "";

before(async () => {
  server = createServer((req, res) => {
    const body = ZIPS[req.url ?? ""];
    if (body === undefined) {
      res.writeHead(404).end("not here");
      return;
    }
    res.writeHead(200, { "content-type": "application/zip", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

/** `mlm download sst2 ARGS --quiet`, with its exit code and stderr. */
const run = (args: string[]): Promise<{ result: number; text: string }> =>
  captureStderr(() => downloadCommand(["sst2", ...args, "--quiet"]));

test("mlm download sst2 saves train.tsv and dev.tsv whole, which fine-tuning reads; an existing copy stays without --force", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const zip = ZIPS["/SST-2.zip"];
    const args = ["--url", `${baseUrl}/SST-2.zip`, "--sha256", sha256(zip), "--out-dir", dir];
    assert.deepEqual(await run(args), { result: 0, text: "" });
    assert.deepEqual(readdirSync(dir), ["SST-2"], "no zip or temporary file left");
    assert.deepEqual(readdirSync(join(dir, "SST-2")).sort(), ["dev.tsv", "train.tsv"]);
    assert.equal(readFileSync(join(dir, "SST-2", "train.tsv"), "utf8"), TRAIN);
    assert.equal(readFileSync(join(dir, "SST-2", "dev.tsv"), "utf8"), DEV);
    const splits = await readLabelledSplits(join(dir, "SST-2", "train.tsv"), {
      ...defaultsOf(LABELLED_DATA_OPTIONS),
      valid: join(dir, "SST-2", "dev.tsv"),
    });
    assert.deepEqual(splits.id2label, ["0", "1"]);
    assert.deepEqual([splits.train.length, splits.valid.length], [2, 3]);
    assert.deepEqual([...splits.validLabels], [1, 0, 1]);

    writeFileSync(join(dir, "SST-2", "dev.tsv"), "local edits");
    const kept = await captureStderr(() => downloadCommand(["sst2", ...args]));
    assert.equal(kept.result, 0);
    assert.match(kept.text, /SST-2\/train\.tsv and .*SST-2\/dev\.tsv already exist; use --force to download again\n$/);
    assert.equal(readFileSync(join(dir, "SST-2", "dev.tsv"), "utf8"), "local edits");
    const forced = await captureStderr(() => downloadCommand(["sst2", ...args, "--force"]));
    assert.equal(forced.result, 0, forced.text);
    assert.match(forced.text, new RegExp(`checked ${zip.length} B, SHA-256 ${sha256(zip)}\n`));
    assert.match(forced.text, /saved 3 labelled sentences \(\d+ B\) to .*dev\.tsv\n/);
    assert.match(
      forced.text,
      /fine-tune with: mlm finetune .*SST-2\/train\.tsv --valid .*SST-2\/dev\.tsv --from RUN\n/,
    );
    assert.equal(readFileSync(join(dir, "SST-2", "dev.tsv"), "utf8"), DEV);
  } finally {
    cleanup();
  }
});

test("GLUE's zip is the default, checked by its size and SHA-256: another zip is refused, nothing saved", async () => {
  assert.equal(SST2_URL, "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip");
  const { dir, cleanup } = tempDir();
  try {
    const zip = ZIPS["/SST-2.zip"];
    // the server announces another size than GLUE's zip: refused before the body is read
    const bySize = await run(["--url", `${baseUrl}/SST-2.zip`, "--out-dir", dir]);
    assert.equal(bySize.result, 1);
    assert.equal(
      bySize.text,
      `mlm download sst2: ${baseUrl}/SST-2.zip announces ${zip.length} bytes, the expected file has 7439277; nothing was saved\n`,
    );
    // the same size, another hash: refused once the bytes are in
    await assert.rejects(
      downloadSst2(dir, { url: `${baseUrl}/SST-2.zip`, expect: { ...SST2_ZIP, bytes: zip.length }, silent: true }),
      new RegExp(
        `^Error: ${baseUrl}/SST-2\\.zip: got ${zip.length} bytes with SHA-256 ${sha256(zip).slice(0, 16)}\\.\\.\\., ` +
          `expected ${zip.length} bytes, SHA-256 d67e16fb55739c1b\\.\\.\\.; nothing was saved$`,
      ),
    );
    const byHash = await run(["--url", `${baseUrl}/SST-2.zip`, "--sha256", "0".repeat(64), "--out-dir", dir]);
    assert.equal(byHash.result, 1);
    assert.match(
      byHash.text,
      /^mlm download sst2: .*: got \d+ bytes with SHA-256 [0-9a-f]{16}\.\.\., expected SHA-256 0{16}\.\.\.; nothing was saved\n$/,
    );
    assert.deepEqual(readdirSync(dir), [], "nothing saved, no temporary file");
  } finally {
    cleanup();
  }
});

test("a zip without dev.tsv, with other columns, or no zip at all: one line, nothing saved", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases: [string, string][] = [
      ["/no-dev.zip", "the zip has no SST-2/dev.tsv"],
      ["/other-columns.zip", 'SST-2/dev.tsv starts with "text\tlabel", expected the columns sentence and label'],
      ["/not-a-zip.zip", "not a readable zip ("],
    ];
    for (const [path, message] of cases) {
      const r = await run(["--url", `${baseUrl}${path}`, "--sha256", sha256(ZIPS[path]), "--out-dir", dir]);
      assert.equal(r.result, 1, path);
      assert.ok(r.text.startsWith(`mlm download sst2: ${baseUrl}${path}: ${message}`), r.text);
      assert.equal(r.text.split("\n").length, 2, `${path}: one line`);
      assert.deepEqual(readdirSync(dir), [], `${path}: nothing saved, no temporary file`);
    }
    const missing = await run(["--url", `${baseUrl}/nope.zip`, "--sha256", "0".repeat(64), "--out-dir", dir]);
    assert.equal(missing.text, `mlm download sst2: HTTP 404 Not Found for ${baseUrl}/nope.zip\n`);
  } finally {
    cleanup();
  }
});

test("mlm download: an unknown data set and a malformed --sha256 are usage errors (exit 2)", async () => {
  const unknown = await captureStderr(() => downloadCommand(["sst5"]));
  assert.deepEqual(unknown, {
    result: 2,
    text: 'mlm download: unknown data set "sst5"; known: sst2 (or no name: the tutorial\'s Tatoeba TSV)\n',
  });
  const bad = await run(["--sha256", "D67E"]);
  assert.deepEqual(bad, {
    result: 2,
    text: 'mlm download sst2: --sha256 expects 64 lowercase hexadecimal digits, got "D67E"\n',
  });
});
