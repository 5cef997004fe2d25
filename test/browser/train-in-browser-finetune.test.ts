// Fine-tuning in a tab: headless Chromium opens the /train/ page, opens a tiny pre-trained run (trained
// by Node) from a .zip, takes a labelled .tsv dropped on the page and a validation file chosen,
// fine-tunes with the settings of an `mlm finetune` run, is stopped from the page and resumed from the list; every logged loss, gradient
// norm and evaluation (accuracy, macro-F1, per-class scores, confusion matrix) of the tab's run equals,
// bit for bit, those of the same `mlm finetune` run in Node, uninterrupted. The page draws the loss and
// accuracy curves and classifies a typed text with label bars, saying which checkpoint and step answer,
// as `mlm classify` does on the downloaded run with the same kernels (the page's pipelines run on the
// TypeScript kernels). Screenshots: screenshots/finetune-*.png.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import type { ClassificationOutput } from "../../src/pipelines/index.js";
import { parseMetrics, type MetricsRecord } from "../../src/run/index.js";
import { startStudio } from "../../src/studio/server.js";
import { train } from "../../src/train/trainer.js";
import { tempDir } from "../temp-dir.js";
import { tinyConfig } from "../train/fixtures.js";
import { launchChromium } from "./chromium.js";
import { figures, unpackDownload, zipFolder } from "./tab-runs.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const SCREENSHOTS = join(ROOT, "screenshots");
const STEPS = 400; // long enough (about a second) for the page's Stop to land mid-run
const STOP_AT = 20;
const TEXT = "the red bus is here";

/** The settings, as `mlm finetune` flags and as the page's fields (#ft-<flag>). */
const SETTINGS: Record<string, string> = {
  "max-steps": String(STEPS),
  epochs: "100",
  "batch-size": "8",
  "learning-rate": "0.001",
  "log-steps": "1",
  "eval-steps": "20",
  "save-steps": "40",
  threads: "2",
};

/**
 * Labelled sentences in the tiny corpus's words, "pos" of a red thing, "neg" of a blue one: 32 of 8
 * things for training, 8 of 2 others for validation (a validation file, as --valid takes).
 */
function labelledTsv(part: "train" | "valid"): string {
  const things = ["cat", "dog", "car", "cup", "hat", "box", "pen", "bag", "bus", "toy"];
  const rows = ["sentence\tlabel"];
  for (const t of part === "train" ? things.slice(0, 8) : things.slice(8))
    rows.push(`the red ${t} is here\tpos`, `a red ${t}\tpos`, `the blue ${t} is here\tneg`, `a blue ${t}\tneg`);
  return rows.join("\n") + "\n";
}

interface TabState {
  records: MetricsRecord[];
  done: { steps: number; stoppedBy: string; task: string } | null;
  labels: ClassificationOutput[] | null;
  errors: string[];
}
const tab = (page: Page): Promise<TabState> => page.evaluate<TabState>("window.mlmTab");
const waitFor = (page: Page, expression: string, timeout = 60_000): Promise<unknown> =>
  page.waitForFunction(`(${expression}) || window.mlmTab.errors.length > 0`, null, { timeout, polling: 50 });

test("a tab fine-tunes from a pre-trained run, stops, resumes and equals Node's mlm finetune bit for bit", async () => {
  const dir = tempDir("mlm-browser-finetune-");
  mkdirSync(SCREENSHOTS, { recursive: true });
  const pre = join(dir, "pre");
  await train(tinyConfig(dir, { outDir: pre, maxSteps: 20, evalSteps: 20 }));
  const data = join(dir, "colours.tsv");
  writeFileSync(data, labelledTsv("train"));
  const valid = join(dir, "colours-valid.tsv");
  writeFileSync(valid, labelledTsv("valid"));

  // Node: `mlm finetune` with the same settings, uninterrupted.
  const cli = (...args: string[]): string =>
    execFileSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const nodeRun = join(dir, "node-ft");
  const flags = Object.entries(SETTINGS).flatMap(([flag, value]) => [`--${flag}`, value]);
  cli("finetune", data, "--valid", valid, "--from", pre, "--out-dir", nodeRun, ...flags);
  const nodeRecords = parseMetrics(readFileSync(join(nodeRun, "metrics.jsonl"), "utf8"), "node metrics.jsonl");

  const server = await startStudio({ runsDir: dir, dataDir: join(ROOT, "data"), crossOriginIsolation: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(server.url); // the token's cookie
    await page.goto(`${server.origin}/train/`);

    // The pre-trained run from a .zip of its folder; it becomes the run to start from.
    await page.setInputFiles("#ft-from-zip", {
      name: "pre.zip",
      mimeType: "application/zip",
      buffer: zipFolder(pre, "pre"),
    });
    await page.locator("#runs tr", { hasText: "pre" }).waitFor();
    await page.waitForFunction("document.querySelector('#ft-from').value.endsWith('pre')");
    // A file without the label column is refused in one line naming it and its columns; then the
    // labelled file dropped on the page.
    const drop = async (name: string, text: string, where = "#ft-drop"): Promise<void> => {
      const transfer = await page.evaluateHandle(`(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([${JSON.stringify(text)}], ${JSON.stringify(name)}));
        return transfer;
      })()`);
      await page.dispatchEvent(where, "drop", { dataTransfer: transfer });
    };
    await drop("notes.txt", "a red cat\n");
    assert.match(
      (await page.textContent("#ft-file-name")) ?? "",
      /^notes\.txt: a labelled data set is \.tsv, \.csv or \.jsonl/,
    );
    await drop("bad.tsv", "sentence\tcategory\na red cat\tpos\n", "#progress"); // anywhere on the page
    await page.click("#finetune");
    await waitFor(page, "false");
    assert.deepEqual((await tab(page)).errors, [
      'bad.tsv: no label column "label"; the columns are "sentence", "category" (name it with --label-column)',
    ]);
    assert.equal(await page.isDisabled("#finetune"), false);
    await page.evaluate("window.mlmTab.errors = []");
    await drop("colours.tsv", labelledTsv("train"));
    assert.match((await page.textContent("#ft-file-name")) ?? "", /^colours\.tsv \(\d+ bytes\)$/);
    await page.setInputFiles("#ft-valid", {
      name: "colours-valid.tsv",
      mimeType: "text/tab-separated-values",
      buffer: Buffer.from(labelledTsv("valid")),
    });

    // A bad setting is named under its field, and nothing starts.
    await page.fill("#ft-batch-size", "0");
    await page.fill("#ft-valid-fraction", "2");
    await page.click("#finetune");
    assert.match((await page.textContent('[data-error-for="batchSize"]')) ?? "", /^batch-size must be/);
    assert.match((await page.textContent('[data-error-for="validFraction"]')) ?? "", /^valid-fraction must be/);
    await page.fill("#ft-valid-fraction", "0.2");
    for (const [flag, value] of Object.entries(SETTINGS)) await page.fill(`#ft-${flag}`, value);

    // Fine-tune; Stop as soon as the page has shown step STOP_AT's loss.
    const stopClicked = page.evaluate(`new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (!window.mlmTab.records.some((r) => r.split === "train" && r.step >= ${STOP_AT})) return;
        observer.disconnect();
        document.querySelector("#stop").click();
        resolve();
      });
      observer.observe(document.querySelector("#status"), { childList: true, characterData: true, subtree: true });
    })`);
    await page.click("#finetune");
    await stopClicked;
    await waitFor(page, "window.mlmTab.done !== null");
    const stopped = await tab(page);
    assert.deepEqual(stopped.errors, []);
    assert.equal(stopped.done?.stoppedBy, "signal");
    assert.equal(stopped.done?.task, "text-classification");
    const stopStep = stopped.done?.steps ?? 0;
    assert.ok(stopStep >= STOP_AT && stopStep < STEPS, `stopped at step ${stopStep}`);
    const row = page.locator("#runs tr", { hasText: "classifier" });
    await row.locator("text=interrupted").waitFor();
    assert.equal(await row.locator("button.download").isDisabled(), false);
    await page.screenshot({ path: join(SCREENSHOTS, "finetune-stopped.png"), fullPage: true });

    // Resumed from the list, to the end.
    await row.locator("button.resume").click();
    await waitFor(page, "window.mlmTab.done !== null && window.mlmTab.done.stoppedBy !== 'signal'");
    const done = await tab(page);
    assert.deepEqual(done.errors, []);
    assert.equal(done.done?.steps, STEPS);
    assert.match((await page.textContent("#status")) ?? "", /^Done at step 400: best accuracy [\d.]+%, macro-F1 /);
    // The loss, accuracy and macro-F1 charts hold the run's points.
    for (const panel of ["loss", "accuracy", "macro-F1"])
      assert.ok(
        (await page.locator(".chart", { hasText: panel }).locator(".legend-row").count()) >= 1,
        `no series in the ${panel} chart`,
      );
    assert.ok((await page.evaluate<number>("window.mlmTab.points()")) >= STEPS);

    // A typed text classified: a bar per label, and which checkpoint (and step) answered.
    await page.fill("#classify-text", TEXT);
    await page.click("#classify");
    await waitFor(page, "window.mlmTab.labels !== null");
    const labels = (await tab(page)).labels!;
    assert.deepEqual(labels.map((l) => l.label).sort(), ["neg", "pos"]);
    assert.equal(await page.locator("#labels .bar-row").count(), 2);
    assert.match((await page.textContent("#classify-which")) ?? "", /^Classified by .*: checkpoint best, step \d+\.$/);
    await page.screenshot({ path: join(SCREENSHOTS, "finetune-done.png"), fullPage: true });

    // The run as a .zip, unpacked: its metrics equal Node's, and `mlm classify` says what the page said.
    const [download] = await Promise.all([page.waitForEvent("download"), row.locator("button.download").click()]);
    const runDir = await unpackDownload(download, dir);
    const tabRecords = parseMetrics(readFileSync(join(runDir, "metrics.jsonl"), "utf8"), "tab metrics.jsonl");
    assert.equal(tabRecords.filter((r) => r.split === "train").length, STEPS);
    assert.ok(tabRecords.some((r) => r.split === "valid" && "confusion/pos/neg" in r));
    assert.deepEqual(tabRecords.map(figures), nodeRecords.map(figures));
    const fromCli = JSON.parse(
      cli("classify", TEXT, "--model", runDir, "--top-k", "2", "--json", "--backend", "ts"),
    ) as ClassificationOutput[];
    assert.deepEqual(
      fromCli.map((l) => l.label),
      labels.map((l) => l.label),
    );
    fromCli.forEach((l, i) =>
      assert.ok(Math.abs(l.score - labels[i].score) <= 1e-12 * l.score, `${l.label}: ${l.score} vs ${labels[i].score}`),
    );
  } finally {
    await browser.close();
    await server.close();
  }
});
