import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MetricsLog, readMetricsFile, truncateMetrics } from "../../src/run/metrics.js";
import { readMetrics } from "../../src/track/metrics.js";

const dir = mkdtempSync(join(tmpdir(), "mlm-metrics-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("one JSON object per line, flushed as logged, read back", async () => {
  const path = join(dir, "run", "metrics.jsonl");
  const log = await MetricsLog.open(path);
  log.log(100, { loss: 2.31, lr: 3e-4, split: "train" }, 1700000000.5);
  // On disk before close: each line is written when logged.
  const firstLine = '{"step":100,"loss":2.31,"lr":0.0003,"split":"train","time":1700000000.5}\n';
  assert.equal(readFileSync(path, "utf8"), firstLine);
  log.log(200, { loss: Number.NaN, gradNorm: Infinity, ok: false, note: null }, 1700000001);
  await log.close();
  assert.deepEqual(await readMetricsFile(path), [
    { step: 100, loss: 2.31, lr: 3e-4, split: "train", time: 1700000000.5 },
    { step: 200, loss: Number.NaN, gradNorm: Infinity, ok: false, note: null, time: 1700000001 },
  ]);
  const before = Date.now() / 1000;
  const again = await MetricsLog.open(path); // appends by default (a resumed run)
  again.log(300, { loss: 1.5 });
  await again.close();
  const records = readMetrics(path);
  assert.deepEqual(
    records.map((r) => r.step),
    [100, 200, 300],
  );
  assert.ok(records[2].time >= before - 1 && records[2].time <= Date.now() / 1000 + 1);
  assert.throws(() => again.log(400, { loss: 1 }), /closed/);
  const other = await MetricsLog.open(path);
  assert.throws(() => other.log(1, { step: 2 }), /set by the log/);
  await other.close();

  await truncateMetrics(path, 200); // a resumed run drops what came after its checkpoint
  assert.deepEqual(
    readMetrics(path).map((r) => r.step),
    [100, 200],
  );
  const fresh = await MetricsLog.open(path, { append: false });
  await fresh.close();
  assert.deepEqual(readMetrics(path), []);
});

test("a cut-off last line is skipped, a bad middle line names file and line", () => {
  const path = join(dir, "cut.jsonl");
  writeFileSync(path, '{"step":1,"loss":2,"time":1}\n\n{"step":2,"loss":1.9,"time":2}\n');
  appendFileSync(path, '{"step":3,"lo');
  assert.deepEqual(
    readMetrics(path).map((r) => r.step),
    [1, 2],
  );
  writeFileSync(path, '{"step":1,"time":1}\nnot json\n{"step":2,"time":2}\n');
  assert.throws(() => readMetrics(path), new RegExp(`${path.replace(/[.\\]/g, "\\$&")}:2: expected a JSON object`));
  writeFileSync(path, '{"loss":1}\n');
  assert.throws(() => readMetrics(path), /:1: expected a JSON object with a numeric "step"/);
});
