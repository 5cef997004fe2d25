/**
 * Training speed in a browser tab against Node, in the same bench run: the page web/train (headless
 * Chromium, served cross-origin isolated) and the library in this process train the same run (the
 * tutorial's defaults on the bundled corpus, `threads` kernel threads, every step's loss logged).
 * A step's time is the gap between the metrics.jsonl times of two consecutive training steps (the
 * steps after an evaluation are left out); the figures are medians.
 *
 * @example
 *   const r = await runBrowserBench({ steps: 30, threads: 2 });
 *   console.log(r.browserMsPerStepMedian / r.nodeMsPerStepMedian); // target <= 1.5
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/config/index.js";
import type { MetricsRecord } from "../src/run/index.js";
import { readMetrics } from "../src/track/index.js";
import { train } from "../src/train/trainer.js";
import { launchChromium } from "../test/browser/chromium.js";
import { serveFolder } from "../test/browser/static-server.js";

/** dist/web/train, from dist/bench/browser.js (the bench runs from dist/). */
const PAGE = fileURLToPath(new URL("../web/train/", import.meta.url));

/** The median gap, in ms, between consecutive training steps' records. */
export function medianStepMs(records: readonly MetricsRecord[]): number {
  const train = records.filter((r) => r.split === "train").sort((a, b) => a.step - b.step);
  const gaps: number[] = [];
  for (let i = 1; i < train.length; i++)
    if (train[i].step === train[i - 1].step + 1) gaps.push((train[i].time - train[i - 1].time) * 1000);
  gaps.sort((a, b) => a - b);
  if (gaps.length === 0) return Number.NaN;
  const mid = gaps.length >> 1;
  return gaps.length % 2 === 1 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
}

export async function runBrowserBench(options: {
  steps: number;
  threads: number;
}): Promise<{ nodeMsPerStepMedian: number; browserMsPerStepMedian: number; browserOverNode: number }> {
  const { steps, threads } = options;
  const scratch = mkdtempSync(join(tmpdir(), "mlm-bench-browser-"));
  try {
    const outDir = join(scratch, "run");
    await train(resolveConfig({ maxSteps: steps, threads, logSteps: 1, outDir, cacheDir: join(scratch, "cache") }));
    const nodeMs = medianStepMs(readMetrics(join(outDir, "metrics.jsonl")));

    const server = await serveFolder(PAGE, { isolated: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      for (const [id, value] of Object.entries({ "max-steps": steps, threads, "log-steps": 1 }))
        await page.fill(`#${id}`, String(value));
      await page.click("#train");
      await page.waitForFunction("window.mlmTab.done !== null || window.mlmTab.errors.length > 0", null, {
        timeout: 600_000,
      });
      const state = await page.evaluate<{ records: MetricsRecord[]; errors: string[] }>("window.mlmTab");
      if (state.errors.length > 0) throw new Error(`the page failed: ${state.errors.join("; ")}`);
      const browserMs = medianStepMs(state.records);
      return { nodeMsPerStepMedian: nodeMs, browserMsPerStepMedian: browserMs, browserOverNode: browserMs / nodeMs };
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
