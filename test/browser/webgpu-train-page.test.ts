// The train page on the WebGPU backend, in Chromium on SwiftShader: the page finds the adapter and
// offers it (WebAssembly stays the default on a software adapter, and the page says why); chosen, it
// trains a tiny model 20 steps, is stopped after step 8 with a checkpoint (read back from the GPU:
// parameters and Adam's moments) and resumed in the page, and every step's training loss and every
// validation loss (evaluated on a CPU copy of the GPU's weights) is within 1e-4 relative of the same
// run on WebAssembly in Node (float32 sums in another order on the GPU). A browser without an adapter
// shows WebAssembly and why.
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { resolveConfig } from "../../src/config/index.js";
import { parseMetrics, type MetricsRecord } from "../../src/run/index.js";
import { startStudio } from "../../src/studio/server.js";
import { train } from "../../src/train/trainer.js";
import { readFileSync } from "node:fs";
import { tempDir } from "../temp-dir.js";
import { launchChromium } from "./chromium.js";
import { ADAPTER_SWITCHES } from "./webgpu-page.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const STEPS = 20;
const STOP_AFTER = 8;
/** A tiny model on 1% of the bundled corpus: SwiftShader runs a step of it in a fraction of a second. */
const TINY = {
  sample: 0.01,
  vocabSize: 400,
  dModel: 16,
  numHeads: 2,
  dFF: 32,
  numLayers: 2,
  maxLen: 32,
  batchSize: 16,
};
const SETTINGS = { "max-steps": STEPS, threads: 2, "log-steps": 1, "eval-steps": 10, "save-steps": 4 };

interface TabState {
  engine: { backend: string; backendReason: string | null } | null;
  webgpu: { adapter: string; software: boolean } | { reason: string } | null;
  records: MetricsRecord[];
  done: { steps: number; stoppedBy: string; msPerStep: number } | null;
  errors: string[];
  runDir: string | null;
}
const tab = (page: Page): Promise<TabState> => page.evaluate<TabState>("window.mlmTab");
const waitFor = (page: Page, expression: string, timeout = 60_000): Promise<unknown> =>
  page.waitForFunction(`(${expression}) || window.mlmTab.errors.length > 0`, null, { timeout, polling: 100 });

/** Each split's losses by step; a step logged twice (none here) keeps its last value. */
function lossesOf(records: MetricsRecord[], split: "train" | "valid"): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of records) if (r.split === split && typeof r.loss === "number") out.set(r.step, r.loss);
  return out;
}

function assertClose(actual: Map<number, number>, expected: Map<number, number>, what: string): void {
  assert.deepEqual(
    [...actual.keys()].sort((a, b) => a - b),
    [...expected.keys()].sort((a, b) => a - b),
    what,
  );
  for (const [step, want] of expected) {
    const got = actual.get(step) as number;
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${what} at step ${step}: ${got} against ${want}`);
  }
}

test("the train page trains, stops and resumes on WebGPU, within 1e-4 of Node's WebAssembly run", async () => {
  const dir = tempDir("mlm-webgpu-tab-");
  // The same run in Node, on WebAssembly.
  const nodeRun = join(dir, "node-run");
  await train(resolveConfig({ ...TINY, maxSteps: STEPS, threads: 2, logSteps: 1, evalSteps: 10, outDir: nodeRun }));
  const nodeRecords = parseMetrics(readFileSync(join(nodeRun, "metrics.jsonl"), "utf8"), "node metrics.jsonl");
  const nodeTrain = lossesOf(nodeRecords, "train");
  assert.equal(nodeTrain.size, STEPS);
  // the run learns: the losses are compared along a moving curve
  assert.ok((nodeTrain.get(STEPS) as number) < (nodeTrain.get(1) as number) - 0.1, [...nodeTrain.values()].join());

  const server = await startStudio({
    runsDir: dir,
    dataDir: join(ROOT, "data"),
    host: "127.0.0.1",
    port: 0,
    crossOriginIsolation: true,
  });
  let browser: Browser | null = null;
  let plain: Browser | null = null;
  try {
    browser = await launchChromium(ADAPTER_SWITCHES.swiftshader);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/train/?config=${encodeURIComponent(JSON.stringify(TINY))}`);
    await waitFor(page, "window.mlmTab.webgpu !== null", 30_000);
    const found = (await tab(page)).webgpu;
    assert.ok(found !== null && "adapter" in found, JSON.stringify(found));
    assert.match(found.adapter, /swiftshader/i);
    assert.equal(found.software, true);
    assert.equal(await page.inputValue("#backend"), "wasm", "a software adapter is offered, not chosen");
    assert.match((await page.textContent("#backend-line")) ?? "", /WebAssembly by default: .*software adapter/);

    // WebGPU chosen: a new run, stopped after step STOP_AFTER.
    await page.selectOption("#backend", "webgpu");
    for (const [id, value] of Object.entries(SETTINGS)) await page.fill(`#${id}`, String(value));
    await page.click("#train");
    await waitFor(page, `window.mlmTab.records.some((r) => r.split === "train" && r.step >= ${STOP_AFTER})`);
    await page.click("#stop");
    await waitFor(page, "window.mlmTab.done !== null");
    const first = await tab(page);
    assert.deepEqual(first.errors, []);
    assert.equal(first.done?.stoppedBy, "signal");
    const stoppedAt = first.done?.steps;
    assert.ok(stoppedAt >= STOP_AFTER && stoppedAt < STEPS, `stopped at step ${stoppedAt}`);
    assert.match(first.engine?.backend ?? "", /^webgpu \(google swiftshader\)$/i);
    assert.equal(first.engine?.backendReason, null);
    assert.match((await page.textContent("#backend-line")) ?? "", /Training on webgpu/);

    // Resumed in the page, still on WebGPU, from the checkpoint the stop wrote.
    const runName = (first.runDir as string).split("/").at(-1) as string;
    const row = page.locator("#runs tr", { hasText: runName }).filter({ hasText: "interrupted" });
    await page.evaluate("window.mlmTab.done = null"); // the first session's, until the resumed one ends
    await row.locator("button.resume").click();
    await waitFor(page, "window.mlmTab.done !== null", 90_000);
    const second = await tab(page);
    assert.deepEqual(second.errors, []);
    assert.equal(second.done?.steps, STEPS);
    assert.match(second.engine?.backend ?? "", /^webgpu/);

    // Steps 1..stoppedAt from the first session, the rest from the resumed one: Node's losses within 1e-4.
    const records = [...first.records, ...second.records];
    assert.ok(
      second.records.every((r) => r.step >= stoppedAt),
      "the resumed session starts at the checkpoint",
    );
    assertClose(lossesOf(records, "train"), nodeTrain, "training loss");
    assertClose(lossesOf(records, "valid"), lossesOf(nodeRecords, "valid"), "validation loss");
    console.log(
      `webgpu tab (SwiftShader): ${second.done?.msPerStep.toFixed(0)} ms/step after the resume; ` +
        `largest relative loss difference ${largestDifference(lossesOf(records, "train"), nodeTrain).toExponential(1)}`,
    );

    // A browser without WebGPU's switches: no adapter, WebAssembly, and the reason on the page.
    plain = await launchChromium();
    const without = await plain.newPage();
    await without.goto(`${server.origin}/train/`);
    await waitFor(without, "window.mlmTab.webgpu !== null", 30_000);
    assert.ok("reason" in ((await tab(without)).webgpu ?? {}));
    assert.match(
      (await without.textContent("#backend-line")) ?? "",
      /^WebAssembly: WebGPU is not available here \(.+\)/,
    );
    assert.equal(await without.isDisabled('#backend option[value="webgpu"]'), true);
  } finally {
    await browser?.close();
    await plain?.close();
    await server.close();
  }
});

function largestDifference(actual: Map<number, number>, expected: Map<number, number>): number {
  let largest = 0;
  for (const [step, want] of expected)
    largest = Math.max(largest, Math.abs((actual.get(step) as number) - want) / Math.abs(want));
  return largest;
}
