// Fine-tuning and managing runs in the studio, in headless Chromium, with the real `mlm`: a fine-tuning
// run started from the form shows its task, its confusion matrix (metrics.jsonl's counts) and
// classifies text as `mlm classify` does; the neighbours box ranks sentences by cosine similarity; a
// run trained from the command line is stopped from the page, resumed from the page to finished, its
// job's log shown, then renamed and deleted; every bad setting of a form is named at once; forms,
// headers, rows and plot boxes work from the keyboard. Screenshots go to screenshots/.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startStudio, type Studio } from "../../src/studio/server.js";
import { launchChromium } from "../browser/chromium.js";
import { tempDir } from "../temp-dir.js";
import { MLM, mlm, ROOT, TINY_FLAGS, writeTinyCorpus } from "./fixtures.js";

const root = tempDir("mlm-studio-finetune-");
const SHOTS = join(ROOT, "screenshots");
const runs = join(root, "runs");
const data = join(root, "data");
const corpus = join(data, "c.txt");
const cache = join(root, "cache");
let studio: Studio;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** 100 spam and 150 ham subjects of the bundled labelled file, as a .tsv with a header. */
function writeLabelled(path: string): void {
  const [header, ...rows] = readFileSync(join(ROOT, "data", "spam-subjects.tsv"), "utf8")
    .trim()
    .split("\n");
  const spam = rows.filter((r) => r.endsWith("\tspam")).slice(0, 100);
  const ham = rows.filter((r) => r.endsWith("\tham")).slice(0, 150);
  writeFileSync(path, [header, ...spam, ...ham].join("\n") + "\n");
}

before(async () => {
  mkdirSync(runs, { recursive: true });
  mkdirSync(data, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  writeTinyCorpus(corpus);
  writeLabelled(join(data, "spam.tsv"));
  mlm(["train", corpus, ...TINY_FLAGS, "--max-steps", "40", "--cache-dir", cache, "--out-dir", join(runs, "pre")]);
  studio = await startStudio({ runsDir: runs, dataDir: data, cacheDir: cache });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(e.stack ?? e.message));
  await page.goto(studio.url);
  await page.waitForSelector('tr[data-run="pre"]');
});

after(async () => {
  await browser?.close();
  await studio?.close();
});

/** Resolves when `check` holds, polling every 100 ms; fails naming `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cellOf = (id: string, col: string): Promise<string> =>
  page.evaluate<string>(`document.querySelector('tr[data-run="${id}"] td[data-col="${col}"]')?.textContent ?? ""`);

test("a fine-tuning run started from the form shows its task and confusion matrix, and classifies as mlm classify", async () => {
  await page.selectOption("#finetune-field-from", "pre");
  await page.selectOption("#finetune-field-data", "spam.tsv");
  await page.fill("#finetune-field-name", "ft");
  for (const [k, v] of Object.entries({ maxSteps: "30", evalSteps: "10", logSteps: "5", batchSize: "16" }))
    await page.fill(`#finetune-field-${k}`, v);
  await page.selectOption("#finetune-field-backend", "ts");
  await page.click('#finetune-form button[type="submit"]');
  await until("the fine-tuning run to finish", async () => (await cellOf("ft", "status")) === "finished");
  assert.equal(await cellOf("ft", "task"), "classify");
  assert.equal(await cellOf("pre", "task"), "mlm");
  await page.click('tr[data-run="ft"]');
  // The last evaluation's matrix, cell by cell, as metrics.jsonl holds it.
  const last = readFileSync(join(runs, "ft", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>)
    .filter((r) => r.split === "valid")
    .at(-1)!;
  await until("the confusion matrix of the last evaluation", async () =>
    (await page.evaluate<string>(`document.querySelector("#confusion caption")?.textContent ?? ""`)).startsWith(
      `step ${last.step}:`,
    ),
  );
  const cells = await page.$$eval("#confusion td", (tds) =>
    tds.map((td) => [td.getAttribute("data-true"), td.getAttribute("data-predicted"), td.textContent]),
  );
  assert.equal(cells.length, 4);
  for (const [truth, predicted, n] of cells) assert.equal(Number(n), last[`confusion/${truth}/${predicted}`]);
  // Its accuracy and macro-F1 are charted.
  assert.equal(await page.locator('.chart .legend-row[data-run="ft"][data-line="macro-F1"]').count(), 1);
  assert.equal(await page.locator('.chart .legend-row[data-run="ft"][data-line="accuracy"]').count(), 1);

  await page.selectOption("#try-run", "ft");
  await until("ft's checkpoints", async () => (await page.locator("#try-checkpoint option").count()) > 0);
  const text = "Win a free prize now";
  await page.fill("#classify-text", text);
  await page.click('#classify-form button[type="submit"]');
  await page.waitForSelector("#classify-results .bar-row");
  const shown = await page.$$eval("#classify-results .bar-row", (rows) =>
    rows.map((r) => [r.querySelector(".candidate")?.textContent, r.querySelector(".score")?.textContent]),
  );
  const cli = JSON.parse(
    mlm(["classify", text, "--model", join(runs, "ft"), "--top-k", "2", "--backend", "ts", "--json"]),
  ) as { label: string; score: number }[];
  assert.deepEqual(
    shown,
    cli.map((l) => [l.label, l.score.toFixed(4)]),
  );
  await page.screenshot({ path: join(SHOTS, "studio-finetune.png"), fullPage: true });

  // Nearest neighbours under the pre-trained encoder: each sentence's others, most similar first.
  await page.selectOption("#try-run", "pre");
  await page.click('#neighbours-form button[type="submit"]');
  await page.waitForSelector("#neighbours-results .neighbours");
  const sims = await page.$$eval("#neighbours-results .neighbours", (blocks) =>
    blocks.map((b) => [...b.querySelectorAll("li")].map((li) => Number(li.getAttribute("data-similarity")))),
  );
  assert.equal(sims.length, 4);
  for (const s of sims) {
    assert.equal(s.length, 3);
    assert.deepEqual(
      s,
      [...s].sort((a, b) => b - a),
    );
    for (const v of s) assert.ok(v >= -1.0001 && v <= 1.0001, String(v));
  }
  await page.locator("#neighbours-form").screenshot({ path: join(SHOTS, "studio-neighbours.png") });
  assert.deepEqual(pageErrors, []);
});

test("a CLI run stopped from the page resumes from the page to finished; its job log shows; rename and delete", async () => {
  // About 5 s of training (1500 steps, 20 a epoch) on the plain TypeScript kernels.
  const child = spawn(
    process.execPath,
    [
      MLM,
      "train",
      corpus,
      ...TINY_FLAGS,
      "--max-steps",
      "1500",
      "--epochs",
      "100",
      "--cache-dir",
      cache,
      "--out-dir",
      join(runs, "cli"),
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await until("the CLI run to show as running", async () => (await cellOf("cli", "status")) === "running");
  await until("a first checkpoint step", async () => Number(await cellOf("cli", "steps")) > 0);
  await page.click('tr[data-run="cli"] button.stop');
  assert.equal(await exited, 130, "mlm train exits 130 on SIGINT, having saved");
  await until("the CLI run to show as interrupted", async () => (await cellOf("cli", "status")) === "interrupted");
  const stoppedAt = JSON.parse(readFileSync(join(runs, "cli", "status.json"), "utf8")) as { step: number };
  assert.ok(stoppedAt.step < 1500);
  await page.click('tr[data-run="cli"] button.resume');
  await until("the resumed run to finish", async () => (await cellOf("cli", "status")) === "finished", 60_000);
  const status = JSON.parse(readFileSync(join(runs, "cli", "status.json"), "utf8")) as { state: string; step: number };
  assert.deepEqual([status.state, status.step], ["finished", 1500]);
  await page.click('tr[data-run="cli"]');
  await until("the job's log", async () => (await page.isVisible("#job-log-box")) === true);
  await page.click("#job-log-box summary");
  assert.match((await page.textContent("#job-log")) ?? "", /1500/); // its progress to the last step
  await page.screenshot({ path: join(SHOTS, "studio-resumed.png"), fullPage: true });

  page.once("dialog", (d) => void d.accept("cli-renamed"));
  await page.click('tr[data-run="cli"] button.rename');
  await page.waitForSelector('tr[data-run="cli-renamed"]');
  assert.ok(existsSync(join(runs, "cli-renamed", "metrics.jsonl")) && !existsSync(join(runs, "cli")));
  // The selected run keeps its selection under its new name: its header and job log follow it.
  await until("the header under the new name", async () =>
    ((await page.textContent("#config-title")) ?? "").startsWith(
      "configuration of cli-renamed (finished at step 1500)",
    ),
  );
  await page.screenshot({ path: join(SHOTS, "studio-renamed.png"), fullPage: false });
  page.once("dialog", (d) => void d.dismiss());
  await page.click('tr[data-run="cli-renamed"] button.delete');
  assert.ok(existsSync(join(runs, "cli-renamed")), "dismissing the confirmation deletes nothing");
  page.once("dialog", (d) => void d.accept());
  await page.click('tr[data-run="cli-renamed"] button.delete');
  await page.waitForSelector('tr[data-run="cli-renamed"]', { state: "detached" });
  assert.ok(!existsSync(join(runs, "cli-renamed")));
  assert.deepEqual(pageErrors, []);
});

test("a form names every bad setting at once, as its labels do; forms, headers, rows and plot boxes work from the keyboard", async () => {
  // Typed and sent from the keyboard: Enter in a field submits the form.
  for (const [field, value] of Object.entries({ batchSize: "0", dropout: "2", threads: "100" })) {
    await page.focus(`#field-${field}`);
    await page.keyboard.type(value);
  }
  await page.keyboard.press("Enter");
  await page.waitForFunction(`document.querySelector('#train-form [data-error-for="batchSize"]').textContent !== ""`);
  assert.equal(await page.textContent('[data-error-for="batchSize"]'), "batch-size must be an integer >= 1, got 0");
  assert.match((await page.textContent('[data-error-for="dropout"]')) ?? "", /^dropout /);
  assert.match((await page.textContent('[data-error-for="threads"]')) ?? "", /^threads /);
  for (const f of ["recipe", "timeBudget", "threads"]) assert.equal(await page.locator(`#field-${f}`).count(), 1, f);
  await page.screenshot({ path: join(SHOTS, "studio-form-errors.png"), fullPage: true });

  await page.focus('th[data-column="steps"]');
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute('th[data-column="steps"]', "aria-sort"), "ascending");
  await page.keyboard.press(" ");
  assert.equal(await page.getAttribute('th[data-column="steps"]', "aria-sort"), "descending");
  await page.focus('tr[data-run="pre"]');
  await page.keyboard.press("Enter");
  await page.waitForSelector('tr[data-run="pre"].selected');
  assert.match((await page.textContent("#config-title")) ?? "", /^configuration of pre/);
  // Tab from the row to its plot box; Space unticks it (its lines leave the charts) and ticks it again.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(`document.activeElement.closest("tr")?.dataset.run`), "pre");
  const plotBox = 'tr[data-run="pre"] input[type="checkbox"]';
  assert.equal(await page.evaluate(`document.activeElement === document.querySelector('${plotBox}')`), true);
  const preLines = '.chart .legend-row[data-run="pre"]';
  await page.keyboard.press(" ");
  await page.waitForSelector(preLines, { state: "detached" });
  assert.equal(await page.isChecked(plotBox), false);
  await page.keyboard.press(" ");
  await page.waitForSelector(preLines);
  assert.equal(await page.isChecked(plotBox), true);
  await page.screenshot({ path: join(SHOTS, "studio-keyboard.png"), fullPage: false });
  assert.deepEqual(pageErrors, []);
});
