// The studio end to end in headless Chromium: a training run started beside it shows as running and
// its curves grow live until it finishes; the fill-mask box gives what `mlm fill` prints; the form
// refuses a bad setting next to its field, starts a run whose configuration header it shows at once
// (never another run's, no uncaught "no such run"), and the page's Stop button leaves a checkpoint that
// `mlm train --resume` continues, the header saying the step the table says (not status.json's start
// step); at 375 px the page does not scroll sideways; no page error. Screenshots go to screenshots/ at
// the repository root.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startStudio, type Studio } from "../../src/studio/server.js";
import { launchChromium } from "../browser/chromium.js";
import { tempDir } from "../temp-dir.js";
import { MLM, mlm, ROOT, TINY_FLAGS, writeTinyCorpus } from "./fixtures.js";

const root = tempDir("mlm-studio-browser-");
const SHOTS = join(ROOT, "screenshots");
const runs = join(root, "runs");
const corpus = join(root, "data", "c.txt");
const cache = join(root, "cache");
let studio: Studio;
let browser: Browser;
let page: Page;
/** Uncaught errors and unhandled rejections of the page. */
const pageErrors: string[] = [];

before(async () => {
  mkdirSync(runs, { recursive: true });
  mkdirSync(join(root, "data"));
  mkdirSync(SHOTS, { recursive: true });
  writeTinyCorpus(corpus);
  studio = await startStudio({ runsDir: runs, dataDir: join(root, "data"), cacheDir: cache });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(e.stack ?? e.message));
  await page.goto(studio.url);
});

after(async () => {
  await browser?.close();
  await studio?.close();
});

/** The text of run `id`'s status cell ("" while the row is missing). */
const statusOf = (id: string): Promise<string> =>
  page.evaluate<string>(`document.querySelector('tr[data-run="${id}"] td[data-status]')?.textContent ?? ""`);

/** The text of run `id`'s cell of column `col` ("" while the row is missing). */
const cellOf = (id: string, col: string): Promise<string> =>
  page.evaluate<string>(`document.querySelector('tr[data-run="${id}"] td[data-col="${col}"]')?.textContent ?? ""`);

/** The configuration header, and run `id`'s steps and status in the table, read at one instant. */
const headerAndRow = (id: string): Promise<{ header: string; steps: number; status: string }> =>
  page.evaluate(`(() => {
    const cell = (col) => document.querySelector('tr[data-run="${id}"] td[data-col="' + col + '"]')?.textContent ?? "";
    const header = document.getElementById("config-title")?.textContent ?? "";
    return { header, steps: Number(cell("steps")), status: cell("status") };
  })()`);

/** Points the charts draw now. */
const chartPoints = (): Promise<number> =>
  page.evaluate(() => (globalThis as unknown as { __studio: { chartPoints(): number } }).__studio.chartPoints());

/** Resolves when `check` holds, polling every 100 ms; fails naming `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `mlm train` in the background into runs/NAME; resolves with its exit code. */
function train(name: string, extra: string[]): Promise<number | null> {
  const child = spawn(
    process.execPath,
    [MLM, "train", corpus, ...TINY_FLAGS, ...extra, "--cache-dir", cache, "--out-dir", join(runs, name)],
    { stdio: "ignore" },
  );
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

test("a run training beside the studio shows as running, its curves grow live, then it finishes", async () => {
  // About 5 s of training on the plain TypeScript kernels, an evaluation every 300 steps.
  // --epochs 100: the tiny corpus's 30 default epochs end at step 600, in about 2 s on a quiet machine,
  // which a listing every 2 s can miss.
  const exit = train("live", ["--max-steps", "1500", "--epochs", "100", "--eval-steps", "300"]);
  await until("the live run to show as running", async () => (await statusOf("live")) === "running");
  const first = await chartPoints();
  await until(
    "the curves to gain points while it runs",
    async () => (await chartPoints()) > first && (await statusOf("live")) === "running",
  );
  await page.screenshot({ path: join(SHOTS, "studio-running.png"), fullPage: true });
  assert.equal(await exit, 0);
  await until("the run to show as finished", async () => (await statusOf("live")) === "finished");
  const lines = readFileSync(join(runs, "live", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n").length;
  // Every record of the file is drawn: train loss, lr, grad norm, tokens/s per training line; 4 figures per evaluation.
  await until("every record to be drawn", async () => (await chartPoints()) >= lines);
  // The task and recipe columns say what config.json records.
  const config = JSON.parse(readFileSync(join(runs, "live", "config.json"), "utf8")) as { recipe: string };
  assert.equal(await cellOf("live", "recipe"), config.recipe);
  assert.equal(await cellOf("live", "task"), "mlm");
});

test("the fill-mask box shows what mlm fill prints; the tokenizer box shows tokens, ids and offsets", async () => {
  await page.click('tr[data-run="live"]');
  await until(
    "the checkpoints of the live run",
    async () => (await page.locator("#try-checkpoint option").count()) > 0,
  );
  const text = "Tom is [MASK] than [MASK].";
  await page.fill("#fill-text", text);
  await page.fill("#fill-topk", "5");
  await page.click('#fill-form button[type="submit"]');
  await page.waitForSelector("#fill-results .mask-block");
  const shown = await page.$$eval("#fill-results .mask-block", (blocks) =>
    blocks.map((b) =>
      [...b.querySelectorAll(".bar-row")].map((r) => [
        r.querySelector(".candidate")?.textContent,
        r.querySelector(".score")?.textContent,
      ]),
    ),
  );
  const cli = JSON.parse(mlm(["fill", text, "--model", join(runs, "live"), "--top-k", "5", "--json"])) as {
    token_str: string;
    score: number;
  }[][];
  assert.deepEqual(
    shown,
    cli.map((mask) => mask.map((p) => [p.token_str, p.score.toFixed(4)])),
  );
  // ☃ is in no sentence of the corpus: the tokenizer's [UNK], highlighted, at its offset.
  await page.fill("#tokenize-text", "Tom likes ☃");
  await page.click('#tokenize-form button[type="submit"]');
  await page.waitForSelector("#tokens .token");
  const chips = await page.$$eval("#tokens .token", (els) => els.map((e) => [e.className, e.textContent ?? ""]));
  assert.deepEqual(chips[0], ["token", "[CLS]1 · 0-0"]);
  assert.deepEqual(chips[1], ["token", "tom101 · 0-3"]);
  assert.deepEqual(
    chips.filter(([c]) => c === "token unk"),
    [["token unk", "[UNK]4 · 10-11"]],
  );
  await page.screenshot({ path: join(SHOTS, "studio-try-model.png"), fullPage: true });
});

test("the form names a bad setting, starts a run with its header at once; Stop, resume: header and table agree", async () => {
  const set = async (key: string, value: string): Promise<void> => page.fill(`#field-${key}`, value);
  await page.fill("#field-name", "from-form");
  for (const [k, v] of Object.entries({
    maxSteps: "100000",
    epochs: "100000", // the tiny corpus's 30 default epochs end at step 600, seconds before the resume below
    evalSteps: "100",
    logSteps: "10",
    batchSize: "0",
    numLayers: "1",
    dModel: "16",
    numHeads: "2",
    dFF: "32",
    vocabSize: "300",
    sample: "1",
  }))
    await set(k, v);
  await page.selectOption("#field-backend", "ts");
  await page.click('#train-form button[type="submit"]');
  await page.waitForFunction(`document.querySelector('[data-error-for="batchSize"]')?.textContent !== ""`);
  assert.equal(await page.textContent('[data-error-for="batchSize"]'), "batch-size must be an integer >= 1, got 0");
  await page.screenshot({ path: join(SHOTS, "studio-form-error.png"), fullPage: true });
  await set("batchSize", "16");
  // Every configuration header shown from the start on: the new run's, never another run's (the run
  // folder appears only once the job's process runs, after the first listings).
  await page.evaluate(`{
    const title = document.getElementById("config-title");
    globalThis.__titles = [];
    new MutationObserver(() => globalThis.__titles.push(title.textContent)).observe(title, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  }`);
  await page.click('#train-form button[type="submit"]');
  await until("the form's run to be training", async () => Number(await cellOf("from-form", "steps")) > 0);
  await until("the header on the form's run, at the table's step", async () => {
    const { header, steps, status } = await headerAndRow("from-form");
    return status === "running" && header === `configuration of from-form (running at step ${steps})`;
  });
  const titles = await page.evaluate<string[]>("globalThis.__titles");
  assert.ok(titles.length > 0);
  for (const t of titles) assert.match(t, /^configuration of from-form( \((starting|[a-z]+ at step \d+)\))?$/);
  await page.screenshot({ path: join(SHOTS, "studio-form-started.png"), fullPage: true });
  await page.click('tr[data-run="from-form"] button.stop');
  await until("the form's run to be interrupted", async () => (await statusOf("from-form")) === "interrupted");
  const stopped = JSON.parse(readFileSync(join(runs, "from-form", "status.json"), "utf8")) as { step: number };

  // Resumed from the command line, it trains on: status.json keeps the step it resumed from, the header
  // says the step the table says. Then Stop from the page, and the CLI resumes it to its end.
  const resumed = spawn(process.execPath, [MLM, "train", "--resume", join(runs, "from-form")], { stdio: "ignore" });
  const resumedExit = new Promise<number | null>((resolve) => resumed.on("exit", resolve));
  after(() => {
    if (resumed.exitCode === null) resumed.kill("SIGKILL"); // a failed check leaves no trainer behind
  });
  await until(
    "the resumed run's header and row to agree past its start step",
    async () => {
      const { header, steps, status } = await headerAndRow("from-form");
      return (
        status === "running" &&
        steps > stopped.step &&
        header === `configuration of from-form (running at step ${steps})`
      );
    },
    90_000,
  ); // a new trainer process: starting it takes seconds, more on a loaded machine
  const running = JSON.parse(readFileSync(join(runs, "from-form", "status.json"), "utf8")) as { step: number };
  assert.equal(running.step, stopped.step, "status.json keeps the step it resumed from");
  await page.screenshot({ path: join(SHOTS, "studio-resumed-header.png"), fullPage: false });
  await page.click('tr[data-run="from-form"] button.stop');
  assert.equal(await resumedExit, 130, "mlm train exits 130 on SIGINT, having saved");
  const status = JSON.parse(readFileSync(join(runs, "from-form", "status.json"), "utf8")) as { step: number };
  await until("the header and row to say interrupted at the saved step", async () => {
    const { header, steps } = await headerAndRow("from-form");
    return steps === status.step && header === `configuration of from-form (interrupted at step ${status.step})`;
  });
  mlm(["train", "--resume", join(runs, "from-form"), "--max-steps", String(status.step + 20)]); // throws unless exit 0
  const finished = JSON.parse(readFileSync(join(runs, "from-form", "status.json"), "utf8")) as {
    state: string;
    step: number;
  };
  assert.deepEqual([finished.state, finished.step], ["finished", status.step + 20]);
  assert.deepEqual(pageErrors, []);
});

test("at 375 px wide the page does not scroll sideways", async () => {
  await page.setViewportSize({ width: 375, height: 800 });
  // The charts follow the resize when the page handles its resize event: no fixed wait, the widths.
  let widths = [0, 0];
  const fits = async (): Promise<boolean> => {
    widths = await page.evaluate<number[]>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    );
    return widths[0] <= widths[1];
  };
  await until("the page to fit 375 px", fits, 10_000).catch(() => undefined);
  await page.screenshot({ path: join(SHOTS, "studio-375px.png"), fullPage: true });
  assert.ok(widths[0] <= widths[1], `scrollWidth ${widths[0]} > clientWidth ${widths[1]}`);
  assert.deepEqual(pageErrors, []);
});
