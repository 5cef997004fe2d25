// The studio's charts in headless Chromium, on runs made by the real `mlm train`: every chart on a log
// axis draws its lines with no page error; a series of one point (a run that logged its training loss
// once) is drawn as a dot; hovering a chart shows, in every chart's legend, the value metrics.jsonl
// holds at the step under the cursor, and every chart reads out that step (aligned x axes); a chart's
// CSV holds the same values; each run keeps its colour
// (table swatch, legends, lines) when runs are deleted, outside the page or from it, and added.
// Screenshots go to screenshots/.
import { strict as assert } from "node:assert";
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startStudio, type Studio } from "../../src/studio/server.js";
import { launchChromium } from "../browser/chromium.js";
import { tempDir } from "../temp-dir.js";
import { mlm, ROOT, TINY_FLAGS, writeTinyCorpus } from "./fixtures.js";

const root = tempDir("mlm-studio-charts-");
const SHOTS = join(ROOT, "screenshots");
const runs = join(root, "runs");
const corpus = join(root, "c.txt");
const cache = join(root, "cache");
let studio: Studio;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** `mlm train` into runs/NAME with the tiny model and `extra` flags, to its end. */
const train = (name: string, extra: string[]): string =>
  mlm(["train", corpus, ...TINY_FLAGS, ...extra, "--cache-dir", cache, "--out-dir", join(runs, name)]);

before(async () => {
  mkdirSync(runs, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  writeTinyCorpus(corpus);
  // "full": 60 steps, losses every 5, an evaluation every 20. "once": 10 steps, one training line.
  train("full", ["--max-steps", "60", "--eval-steps", "20"]);
  train("once", ["--max-steps", "10", "--log-steps", "10", "--eval-steps", "10"]);
  studio = await startStudio({ runsDir: runs, dataDir: root, cacheDir: cache });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(studio.url);
  await page.waitForFunction(`document.querySelectorAll('.legend-row[data-run="full"]').length > 0`);
});

after(async () => {
  await browser?.close();
  await studio?.close();
});

/** The runs with a row in the legend of the loss chart (every run plotted, once its curves are drawn), sorted. */
const legendRuns = (): Promise<string[]> =>
  page.$$eval('.chart[data-panel="0"] .legend-row', (rows) =>
    [...new Set(rows.map((r) => r.getAttribute("data-run") ?? ""))].sort(),
  );

/** Resolves when `check` holds, polling every 100 ms; fails naming `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ticks or unticks the runs' plot boxes so that exactly `ids` are plotted, and waits until their curves are drawn. */
async function plotOnly(ids: string[]): Promise<void> {
  for (const id of ["full", "once"]) {
    const box = page.locator(`tr[data-run="${id}"] input[type="checkbox"]`);
    if ((await box.isChecked()) !== ids.includes(id)) await box.click();
  }
  const want = JSON.stringify([...ids].sort());
  await until(`the curves of ${want}`, async () => JSON.stringify(await legendRuns()) === want);
}

/** Per chart panel, how many canvas pixels have the colour of run `id` (from its legend swatch). */
function pixelsOf(id: string): Promise<number[]> {
  return page.evaluate<number[]>(`[...document.querySelectorAll(".chart")].map((box) => {
    const swatch = box.querySelector('.legend-row[data-run="${id}"] .swatch');
    const canvas = box.querySelector("canvas");
    if (swatch === null || canvas === null) return 0;
    const [r, g, b] = getComputedStyle(swatch).backgroundColor.match(/\\d+/g).map(Number);
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4)
      if (Math.abs(px[i] - r) < 12 && Math.abs(px[i + 1] - g) < 12 && Math.abs(px[i + 2] - b) < 12) n++;
    return n;
  })`);
}

interface MetricsRecord {
  step: number;
  split: string;
  [figure: string]: number | string;
}
const records = (id: string): MetricsRecord[] =>
  readFileSync(join(runs, id, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as MetricsRecord);

/** The chart panel whose title starts with `title`. */
const panel = (title: string): string => `.chart:has(h3:text-is("${title}"))`;

test("log scale on every chart: no page error, and every chart with data draws its lines", async () => {
  await plotOnly(["full"]);
  // Perplexity starts on a log axis (step 0's ~300 would flatten the rest), the others linear.
  assert.equal(await page.locator(`${panel("perplexity (validation)")} input.log`).isChecked(), true);
  assert.equal(await page.locator(`${panel("learning rate")} input.log`).isChecked(), false);
  await page.check("#log-scale");
  assert.deepEqual(pageErrors, []);
  assert.equal(await page.locator(".chart input.log:checked").count(), await page.locator(".chart").count());
  const drawn = await pixelsOf("full");
  // Every chart but macro-F1 (a fine-tuning figure) has the run's line: tens of pixels at least.
  const titles = await page.$$eval(".chart h3", (hs) => hs.map((h) => h.textContent ?? ""));
  titles.forEach((t, i) => {
    if (t.startsWith("macro-F1")) assert.equal(drawn[i], 0, t);
    else assert.ok(drawn[i] > 30, `${t}: ${drawn[i]} pixels of the run's colour`);
  });
  await page.screenshot({ path: join(SHOTS, "studio-log-scale.png"), fullPage: true });
  await page.uncheck("#log-scale");
  assert.equal(await page.locator(".chart input.log:checked").count(), 0);
  assert.deepEqual(pageErrors, []);
});

test("a run that logged its training loss once is drawn: a dot on the learning-rate chart", async () => {
  await plotOnly(["once"]);
  const trainLines = records("once").filter((r) => r.split === "train");
  assert.equal(trainLines.length, 1);
  const titles = await page.$$eval(".chart h3", (hs) => hs.map((h) => h.textContent ?? ""));
  const drawn = await pixelsOf("once");
  assert.ok(drawn[titles.indexOf("learning rate")] > 10, `learning rate: ${drawn[titles.indexOf("learning rate")]} px`);
  assert.ok(drawn[titles.indexOf("gradient norm")] > 10, `gradient norm: ${drawn[titles.indexOf("gradient norm")]} px`);
  await page.screenshot({ path: join(SHOTS, "studio-one-point.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test("hovering a chart shows metrics.jsonl's values in every chart's legend; the chart's CSV holds them too", async () => {
  await plotOnly(["full"]);
  const over = page.locator(`${panel("loss (train solid, validation dashed)")} .u-over`);
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.42, box.y + box.height / 2);
  const value = page.locator(
    `${panel("loss (train solid, validation dashed)")} .legend-row[data-line="train loss"] .value`,
  );
  await page.waitForFunction((el) => (el?.textContent ?? "") !== "", await value.elementHandle());
  const step = Number(await value.getAttribute("data-x"));
  const text = (await value.textContent()) ?? "";
  const logged = records("full").find((r) => r.split === "train" && r.step === step);
  assert.ok(logged !== undefined, `no training record at step ${step}`);
  const shown = Number(/: ([^ ]+)/.exec(text)?.[1]);
  assert.ok(
    Math.abs(shown - (logged.loss as number)) <= 1e-5 * Math.abs(logged.loss as number),
    `${text} vs ${logged.loss}`,
  );
  assert.match(text, /\(smoothed [0-9.]+\)/);
  // The cursor is shared: the perplexity chart reads out its evaluation nearest that step.
  const ppl = page.locator(`${panel("perplexity (validation)")} .legend-row[data-run="full"] .value`);
  const pplStep = Number(await ppl.getAttribute("data-x"));
  const evals = records("full").filter((r) => r.split === "valid");
  const nearest = evals.reduce((a, b) => (Math.abs(b.step - step) < Math.abs(a.step - step) ? b : a));
  assert.equal(pplStep, nearest.step);
  const pplShown = Number(/: ([^ ]+)/.exec((await ppl.textContent()) ?? "")?.[1]);
  const pplLogged = nearest.perplexity as number;
  assert.ok(Math.abs(pplShown - pplLogged) <= 1e-5 * pplLogged, `${pplShown} vs ${pplLogged}`);
  // Aligned x axes: every chart with lines reads out the same step under the one cursor, and their
  // plot areas have one width and one offset in their panels (the y axes are as wide everywhere).
  const shared = await page.$$eval(".chart", (charts) =>
    charts
      .filter((c) => c.querySelector(".legend-row") !== null)
      .map((c) => {
        const [outer, over] = [c.getBoundingClientRect(), c.querySelector(".u-over")!.getBoundingClientRect()];
        return [c.querySelector(".readout-x")?.textContent, Math.round(over.left - outer.left), Math.round(over.width)];
      }),
  );
  assert.ok(shared.length >= 5, `${shared.length} charts with lines`);
  assert.match(String(shared[0][0]), /^step \d+$/);
  for (const s of shared) assert.deepEqual(s, shared[0]);
  await page.screenshot({ path: join(SHOTS, "studio-hover-readout.png"), fullPage: false });

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`${panel("loss (train solid, validation dashed)")} button.save-csv`),
  ]);
  assert.equal(download.suggestedFilename(), "loss-train-solid-validation-dashed.csv");
  const csv = readFileSync(await download.path(), "utf8")
    .trim()
    .split("\n");
  assert.deepEqual(csv[0].split(","), [
    "step",
    "full train loss raw",
    "full train loss smoothed",
    "full valid loss raw",
    "full valid loss smoothed",
  ]);
  const row = csv.find((l) => l.startsWith(`${step},`))!.split(",");
  assert.ok(Math.abs(Number(row[1]) - (logged.loss as number)) <= 1e-6 * (logged.loss as number));
  const [svg] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`${panel("perplexity (validation)")} button.save-svg`),
  ]);
  assert.match(readFileSync(await svg.path(), "utf8"), /^<svg[^]*<path d="M/);
  const [png] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`${panel("learning rate")} button.save-png`),
  ]);
  assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  assert.deepEqual(pageErrors, []);
});

test("the plotted runs' configuration differences list only the keys that differ; dark mode follows the system", async () => {
  await plotOnly(["full", "once"]);
  await page.click("#diff-box summary");
  await page.waitForSelector("#config-diff tr[data-key]");
  const keys = await page.$$eval("#config-diff tr[data-key]", (rows) => rows.map((r) => r.getAttribute("data-key")));
  const [full, once] = ["full", "once"].map(
    (id) => JSON.parse(readFileSync(join(runs, id, "config.json"), "utf8")) as Record<string, unknown>,
  );
  const differing = Object.keys(full)
    .filter((k) => typeof full[k] !== "object" || full[k] === null)
    .filter((k) => JSON.stringify(full[k]) !== JSON.stringify(once[k]));
  assert.ok(keys.includes("maxSteps") && keys.includes("logSteps"), keys.join(","));
  for (const k of differing) assert.ok(keys.includes(k), `${k} differs but is not listed`);
  assert.ok(!keys.includes("dModel"), "an equal key is listed");
  await page.emulateMedia({ colorScheme: "dark" });
  const background = await page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
  assert.equal(background, "rgb(18, 18, 18)");
  await page.check("#log-scale"); // charts rebuilt in the dark colours (at once: the change event rebuilds them)
  await page.screenshot({ path: join(SHOTS, "studio-dark-diff.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  assert.deepEqual(pageErrors, []);
});

/** Each run's colour in the table (its row's swatch) and in every chart legend that lists it, as rgb() strings. */
const colours = (): Promise<Record<string, { table: string; legend: string[] }>> =>
  page.evaluate(`(() => {
    const out = {};
    for (const row of document.querySelectorAll("tr[data-run]")) {
      const id = row.getAttribute("data-run");
      const legend = [...document.querySelectorAll('.legend-row[data-run="' + id + '"] .swatch')];
      out[id] = {
        table: getComputedStyle(row.querySelector(".swatch")).backgroundColor,
        legend: [...new Set(legend.map((s) => getComputedStyle(s).backgroundColor))],
      };
    }
    return out;
  })()`);

test("run colours are stable: a run deleted outside the page and one added change no other run's colour", async () => {
  await page.uncheck("#log-scale");
  await plotOnly(["full", "once"]);
  const before = await colours();
  assert.notEqual(before.full.table, before.once.table);
  for (const id of ["full", "once"]) assert.deepEqual(before[id].legend, [before[id].table], id);

  // Deleted as `rm -r` would, while selected and its curves stream: its row and lines go, the header
  // moves to another run, the other run's colours stay as they were.
  await page.click('tr[data-run="once"]');
  await until("once's header", async () => ((await page.textContent("#config-title")) ?? "").includes(" once ("));
  rmSync(join(runs, "once"), { recursive: true });
  await until("the deleted run's row and lines to go", async () => {
    const shown = await colours();
    return shown.once === undefined && JSON.stringify(await legendRuns()) === '["full"]';
  });
  await until("the header on the run left", async () =>
    ((await page.textContent("#config-title")) ?? "").startsWith("configuration of full ("),
  );
  assert.deepEqual((await colours()).full, before.full);

  // A copy of "full" with losses 0.3 higher (its lines apart from full's), moved in whole as a finished
  // run: drawn (the curves stream again without the deleted run) in a colour of its own; "full" keeps
  // its colour in the table, the legends and the plot.
  cpSync(join(runs, "full"), join(root, "added"), { recursive: true });
  const higher = records("full").map((r) =>
    typeof r.loss === "number"
      ? {
          ...r,
          loss: r.loss + 0.3,
          ...(typeof r.perplexity === "number" ? { perplexity: Math.exp(r.loss + 0.3) } : {}),
        }
      : r,
  );
  writeFileSync(join(root, "added", "metrics.jsonl"), higher.map((r) => JSON.stringify(r) + "\n").join(""));
  renameSync(join(root, "added"), join(runs, "added"));
  await until("the added run's row and lines", async () => JSON.stringify(await legendRuns()) === '["added","full"]');
  const after = await colours();
  assert.deepEqual(after.full, before.full);
  assert.deepEqual(after.added.legend, [after.added.table]);
  assert.notEqual(after.added.table, after.full.table);
  for (const id of ["full", "added"]) {
    const drawn = await pixelsOf(id);
    assert.ok(drawn[0] > 30, `loss chart: ${drawn[0]} pixels of ${id}'s colour`);
  }
  await page.screenshot({ path: join(SHOTS, "studio-colors-stable.png"), fullPage: true });

  // Deleted from the page: "full" still keeps its colour.
  page.once("dialog", (d) => void d.accept());
  await page.click('tr[data-run="added"] button.delete');
  await until("the added run to go", async () => JSON.stringify(await legendRuns()) === '["full"]');
  assert.deepEqual((await colours()).full, before.full);
  assert.deepEqual(pageErrors, []);
});
