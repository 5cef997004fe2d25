/**
 * The studio page under load: 20 runs (5 of them fine-tuning runs) of 10,000 logged training steps
 * each (plus an evaluation every 500 steps), written as metrics.jsonl files into a temporary runs folder, all plotted at once in
 * headless Chromium, five page loads each on a freshly started server (medians reported). Measures the
 * first render (navigation start to every run's curves drawn; target
 * under 2 s), on the way there when the run ids and the last run's curves arrived, when the runs table
 * was filled after it, and the renderer's JavaScript heap afterwards (target under 200 MiB).
 *
 * @example
 *   const r = await runStudioBench();   // { firstRenderMs: 900, heapMiB: 60, points: 1000000, ... }
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStudio } from "../src/studio/server.js";
import type { Browser } from "playwright-core";
import { launchChromium } from "../test/browser/chromium.js";

const RUNS = 20;
const POINTS = 10_000;

/**
 * A run folder with config.json, status.json and a metrics.jsonl of POINTS training lines; a loss that
 * falls with noise. A fine-tuning run (`classifier`) records its task and two labels, and its
 * evaluations hold accuracy, macro-F1 and the confusion matrix instead of perplexity.
 */
function writeRun(dir: string, seed: number, classifier: boolean): void {
  mkdirSync(dir);
  const task = classifier
    ? {
        task: "text-classification",
        classifier: { id2label: ["ham", "spam"], pooling: "cls", from: null, fromFingerprint: null },
      }
    : {};
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      formatVersion: 1,
      data: "bench.txt",
      numLayers: 6,
      dModel: 128,
      batchSize: 64,
      learningRate: 3e-4,
      ...task,
    }),
  );
  writeFileSync(
    join(dir, "status.json"),
    JSON.stringify({ state: "finished", step: POINTS, time: 1_764_000_000 + POINTS }),
  );
  const lines: string[] = [];
  for (let step = 1; step <= POINTS; step++) {
    const loss = 4 + 6 / Math.sqrt(step) + 0.2 * Math.sin(step * 0.37 + seed);
    lines.push(
      JSON.stringify({
        step,
        split: "train",
        loss,
        lr: 3e-4,
        gradNorm: 1 + 0.1 * Math.cos(step + seed),
        tokensPerSec: 10_000 + seed,
        epoch: 1,
        time: 1_764_000_000 + step,
      }),
    );
    if (step % 500 === 0 && classifier)
      lines.push(
        JSON.stringify({
          step,
          split: "valid",
          loss: loss / 8,
          accuracy: 0.9,
          macroF1: 0.88,
          examples: 100,
          "confusion/ham/ham": 60,
          "confusion/ham/spam": 4,
          "confusion/spam/ham": 6,
          "confusion/spam/spam": 30,
          time: 1_764_000_000 + step,
        }),
      );
    else if (step % 500 === 0)
      lines.push(
        JSON.stringify({
          step,
          split: "valid",
          loss: loss + 0.1,
          perplexity: Math.exp(loss + 0.1),
          accuracy: 0.15,
          top5: 0.3,
          tokens: 1000,
          time: 1_764_000_000 + step,
        }),
      );
  }
  writeFileSync(join(dir, "metrics.jsonl"), lines.join("\n") + "\n");
}

/** Page loads measured, each on a freshly started server (which then reads the runs again): figures are their medians. */
const LOADS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One page load on a fresh server over `runsDir`: the page's figures (ms since navigation start) and heap. */
async function loadOnce(browser: Browser, runsDir: string, dataDir: string): Promise<Record<string, number>> {
  const studio = await startStudio({ runsDir, dataDir });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(studio.url);
    await page.waitForFunction("globalThis.__studio?.firstRender != null", undefined, { timeout: 60_000 });
    const firstRenderMs = await page.evaluate<number>("globalThis.__studio.firstRender");
    const points = await page.evaluate<number>("globalThis.__studio.chartPoints()");
    const [streamMs, replayedMs, parseMs, renderMs] = await page.evaluate<number[]>(
      "[globalThis.__studio.streamAt, globalThis.__studio.replayedAt, globalThis.__studio.parseMs, globalThis.__studio.renderMs]",
    );
    // When the run ids came (api/info) and when the last run's curves arrived, from the resource timings.
    const [infoMs, curvesMs] = await page.evaluate<number[]>(`(() => {
      const ends = (part) => performance.getEntriesByType("resource").filter((e) => e.name.includes(part)).map((e) => e.responseEnd);
      return [Math.max(...ends("/api/info")), Math.max(...ends("/curves"))];
    })()`);
    // The table follows the curves (its listing reads every run on the server): wait for it too.
    await page.waitForFunction("document.querySelectorAll('#runs tr[data-run]').length === " + RUNS, undefined, {
      timeout: 60_000,
    });
    const listedMs = await page.evaluate<number>("performance.now()");
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("HeapProfiler.collectGarbage");
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const heap = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? Number.NaN;
    const heapTotal = metrics.find((m) => m.name === "JSHeapTotalSize")?.value ?? Number.NaN;
    return {
      firstRenderMs,
      infoMs,
      curvesMs,
      streamMs,
      replayedMs,
      parseMs,
      renderMs,
      listedMs,
      heapMiB: heap / 2 ** 20,
      heapTotalMiB: heapTotal / 2 ** 20,
      points,
    };
  } finally {
    await page.close();
    await studio.close();
  }
}

/** The medians of LOADS page loads (and the fastest and slowest first render). */
export async function runStudioBench(): Promise<Record<string, number>> {
  const root = mkdtempSync(join(tmpdir(), "mlm-studio-bench-"));
  mkdirSync(join(root, "runs"));
  // Every fourth run is a fine-tuning run.
  for (let i = 0; i < RUNS; i++) writeRun(join(root, "runs", `run-${String(i).padStart(2, "0")}`), i, i % 4 === 3);
  const browser = await launchChromium();
  try {
    const loads: Record<string, number>[] = [];
    for (let i = 0; i < LOADS; i++) loads.push(await loadOnce(browser, join(root, "runs"), root));
    const medians = Object.fromEntries(Object.keys(loads[0]).map((k) => [k, median(loads.map((l) => l[k]))]));
    const renders = loads.map((l) => l.firstRenderMs);
    return {
      runs: RUNS,
      pointsPerRun: POINTS,
      loads: LOADS,
      ...medians,
      firstRenderMinMs: Math.min(...renders),
      firstRenderMaxMs: Math.max(...renders),
    };
  } finally {
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  }
}
