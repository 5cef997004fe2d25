// The proof that a tab trains with the same engine: headless Chromium trains the tutorial's model on the
// bundled 5% sample (default settings, 2 threads) in the page web/train, is reloaded mid-training (the
// run then shows as interrupted) and resumes; every logged loss of its 60 steps, the gradient norms and
// the validation metrics equal, bit for bit, those of the same run in Node. The run downloaded as a .zip
// loads in `mlm fill` and `mlm eval`, which give what the page gives, and the Node run opens in the page. Served without COOP/COEP, the
// page trains on one thread, says why, and its losses are still Node's (the sums do not depend on the
// thread count).
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import type { Page } from "playwright-core";
import { resolveConfig } from "../../src/config/index.js";
import type { FillMaskPrediction } from "../../src/pipelines/index.js";
import { parseMetrics, type MetricsRecord } from "../../src/run/index.js";
import { train } from "../../src/train/trainer.js";
import { tempDir } from "../temp-dir.js";
import { launchChromium } from "./chromium.js";
import { figures, unpackDownload } from "./tab-runs.js";
import { startStudio } from "../../src/studio/server.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const SCREENSHOTS = join(ROOT, "screenshots");
const STEPS = 60; // past the reload at step 25 and the resume from step 20, as short as the suite can afford
const FILL = "I want to [MASK] a book.";

/** Settings on the page, then "Train a new run". */
async function startTraining(page: Page, settings: Record<string, number>): Promise<void> {
  for (const [id, value] of Object.entries(settings)) await page.fill(`#${id}`, String(value));
  await page.click("#train");
}

interface TabState {
  engine: { threads: number; reason: string | null } | null;
  records: MetricsRecord[];
  done: { steps: number; msPerStep: number } | null;
  predictions: unknown;
  errors: string[];
}
const tab = (page: Page): Promise<TabState> => page.evaluate<TabState>("window.mlmTab");
const waitFor = (page: Page, expression: string, timeout = 120_000): Promise<unknown> =>
  page.waitForFunction(`(${expression}) || window.mlmTab.errors.length > 0`, null, { timeout, polling: 100 });

/**
 * The same predictions: tokens, texts and order exactly, scores to 1e-12 relative. The logits are the
 * same float32 values; the float64 softmax over them may differ in its last bit between Chromium's and
 * Node's builds of V8.
 */
function assertSamePredictions(actual: FillMaskPrediction[], expected: FillMaskPrediction[]): void {
  const strip = (ps: FillMaskPrediction[]): unknown[] => ps.map(({ score: _score, ...rest }) => rest);
  assert.deepEqual(strip(actual), strip(expected));
  actual.forEach((p, i) => {
    const want = expected[i].score;
    assert.ok(Math.abs(p.score - want) <= 1e-12 * Math.abs(want), `score ${i}: ${p.score} against ${want}`);
  });
}

test("a tab trains, reloads, resumes and downloads a run bit-identical to Node's", async () => {
  const dir = tempDir("mlm-browser-");
  mkdirSync(SCREENSHOTS, { recursive: true });

  // The same run in Node: tutorial defaults, STEPS steps, 2 threads, every step's loss logged.
  const nodeRun = join(dir, "node-run");
  const t0 = Date.now();
  const nodeSummary = await train(
    resolveConfig({ maxSteps: STEPS, threads: 2, logSteps: 1, outDir: nodeRun, cacheDir: join(dir, "cache") }),
  );
  const nodeSeconds = (Date.now() - t0) / 1000;
  const nodeRecords = parseMetrics(readFileSync(join(nodeRun, "metrics.jsonl"), "utf8"), "node metrics.jsonl");

  // The page as `mlm studio` serves it (/train/), with and without the cross-origin isolation headers.
  const studio = { runsDir: dir, dataDir: join(ROOT, "data"), host: "127.0.0.1", port: 0 };
  const server = await startStudio({ ...studio, crossOriginIsolation: true });
  const plain = await startStudio({ ...studio, crossOriginIsolation: false });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/train/`);
    assert.match((await page.textContent("#engine")) ?? "", /runs on \d+ threads/);
    const t1 = Date.now();
    await startTraining(page, { "max-steps": STEPS, threads: 2, "log-steps": 1, "save-steps": 20 });
    // Past the checkpoint of step 20 (written before step 21 starts), reload: the worker dies mid-run.
    await waitFor(page, "window.mlmTab.records.some((r) => r.split === 'train' && r.step >= 25)");
    assert.deepEqual((await tab(page)).errors, []);
    assert.equal((await tab(page)).engine?.threads, 2);
    await page.screenshot({ path: join(SCREENSHOTS, "train-in-progress.png"), fullPage: true });
    await page.reload();
    const interrupted = page.locator("#runs tr", { hasText: "interrupted" });
    await interrupted.waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SCREENSHOTS, "train-interrupted.png"), fullPage: true });
    // Downloadable while interrupted; once resumed the list says running and the zip waits for the end.
    assert.equal(await interrupted.locator("button.download").isDisabled(), false);
    await interrupted.locator("button.resume").click();
    const training = page.locator("#runs tr", { hasText: "running" });
    await training.waitFor({ timeout: 20_000 });
    assert.equal(await training.locator("button.download").isDisabled(), true);
    await waitFor(page, "window.mlmTab.done !== null");
    const resumed = await tab(page);
    assert.deepEqual(resumed.errors, []);
    assert.equal(resumed.done?.steps, STEPS);
    const browserSeconds = (Date.now() - t1) / 1000;
    await page.fill("#fill-text", FILL);
    await page.click("#fill");
    await waitFor(page, "window.mlmTab.predictions !== null", 60_000);
    // Fill-mask says which checkpoint it used, and its step.
    await waitFor(page, "document.querySelector('#fill-which').textContent.includes('step')");
    assert.match((await page.textContent("#fill-which")) ?? "", /: checkpoint (best|last-\d+), step \d+\.$/);
    const pagePredictions = (await tab(page)).predictions as unknown[];
    await page.screenshot({ path: join(SCREENSHOTS, "train-done.png"), fullPage: true });

    // The run as one .zip, unpacked: the CLI's run-directory layout.
    const row = page.locator("#runs tr", { hasText: "finished" });
    const [download] = await Promise.all([page.waitForEvent("download"), row.locator("button.download").click()]);
    const runDir = await unpackDownload(download, dir);

    // Every logged figure of the interrupted and resumed tab run equals Node's, bit for bit.
    const tabRecords = parseMetrics(readFileSync(join(runDir, "metrics.jsonl"), "utf8"), "tab metrics.jsonl");
    assert.equal(tabRecords.filter((r) => r.split === "train").length, STEPS);
    assert.deepEqual(tabRecords.map(figures), nodeRecords.map(figures));

    // `mlm fill` and `mlm eval` load the unpacked run; fill says what the page said.
    const cli = (...args: string[]): string =>
      execFileSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8" });
    assertSamePredictions(
      JSON.parse(cli("fill", FILL, "--model", runDir, "--top-k", "5", "--json")) as FillMaskPrediction[],
      pagePredictions[0] as FillMaskPrediction[],
    );
    const evaluation = JSON.parse(cli("eval", "--model", runDir, "--split", "valid", "--json")) as { loss: number };
    const lastValid = nodeRecords.filter((r) => r.split === "valid").at(-1);
    assert.equal(evaluation.loss, lastValid?.loss);

    // The Node run, as a .zip of what inference needs, opens in the page and fills in the same way.
    const files = ["config.json", "tokenizer.json", ...readdirSync(join(nodeRun, "best")).map((f) => `best/${f}`)];
    const zip = zipSync(Object.fromEntries(files.map((f) => [`node-run/${f}`, readFileSync(join(nodeRun, f))])));
    await page.evaluate("window.mlmTab.predictions = null");
    await page.setInputFiles("#open-zip", {
      name: "node-run.zip",
      mimeType: "application/zip",
      buffer: Buffer.from(zip),
    });
    await page.locator("#runs tr", { hasText: "node-run" }).waitFor();
    await page.click("#fill");
    await waitFor(page, "window.mlmTab.predictions !== null", 60_000);
    // Fill-mask says which checkpoint it used, and its step.
    await waitFor(page, "document.querySelector('#fill-which').textContent.includes('step')");
    assert.match((await page.textContent("#fill-which")) ?? "", /: checkpoint (best|last-\d+), step \d+\.$/);
    assert.deepEqual((await tab(page)).predictions, pagePredictions);

    // Without cross-origin isolation: one thread, the reason on the page, the same losses.
    const single = await browser.newPage();
    await single.goto(`${plain.origin}/train/`);
    assert.match((await single.textContent("#engine")) ?? "", /One thread only: .*Cross-Origin-Opener-Policy/);
    await startTraining(single, { "max-steps": 1, threads: 2, "log-steps": 1 });
    await waitFor(single, "window.mlmTab.done !== null");
    const one = await tab(single);
    assert.deepEqual(one.errors, []);
    assert.equal(one.engine?.threads, 1);
    assert.match(one.engine?.reason ?? "", /not cross-origin isolated/);
    const firstSteps = (records: MetricsRecord[]): unknown[] =>
      records
        .filter((r) => (r.split === "train" && r.step === 1) || (r.split === "valid" && r.step === 0))
        .map(figures);
    assert.deepEqual(firstSteps(one.records), firstSteps(nodeRecords));
    await single.screenshot({ path: join(SCREENSHOTS, "train-one-thread.png"), fullPage: true });

    console.log(
      `node: ${nodeSummary.msPerStep.toFixed(1)} ms/step, ${nodeSeconds.toFixed(1)} s; tab: ${resumed.done?.msPerStep.toFixed(1)} ms/step ` +
        `(resumed part), ${browserSeconds.toFixed(1)} s with the reload`,
    );
  } finally {
    await browser.close();
    await server.close();
    await plain.close();
  }
});
