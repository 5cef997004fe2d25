// The /train/ page's layout in headless Chromium: it looks like the studio (the studio's stylesheet:
// the same header, page and section colours and font, light and dark), shows no empty charts before
// it has a run, draws a run opened from a .zip with the studio's charts (a titled chart per figure, x
// axes labelled by step), follows the system's dark mode, fits a 375 px screen without sideways
// scrolling (the charts follow the page's width, before and after a resize), and links back to the
// studio. Screenshots: screenshots/train-375px.png, screenshots/train-dark-375px.png.
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { startStudio } from "../../src/studio/server.js";
import { train } from "../../src/train/trainer.js";
import { ROOT } from "../studio/fixtures.js";
import { tempDir } from "../temp-dir.js";
import { tinyConfig } from "../train/fixtures.js";
import { launchChromium } from "./chromium.js";
import { zipFolder } from "./tab-runs.js";

/** The computed colours and font of the page's header, body and first section. */
const LOOK = `(() => {
  const style = (selector) => getComputedStyle(document.querySelector(selector));
  const [header, body, section] = [style("header"), style("body"), style("main section")];
  return [header.backgroundColor, header.color, body.backgroundColor, body.color, body.fontFamily, section.backgroundColor];
})()`;

/** [page scroll width, page width, first chart's canvas width]. */
const WIDTHS =
  "[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.querySelector('#charts canvas').getBoundingClientRect().width]";

test("/train/ looks like the studio, light and dark, fits a 375 px screen, resizes its charts and links back", async () => {
  const dir = tempDir("mlm-train-layout-");
  mkdirSync(join(ROOT, "screenshots"), { recursive: true });
  const run = join(dir, "tiny");
  await train(tinyConfig(dir, { outDir: run, maxSteps: 20, evalSteps: 10, logSteps: 2 }));
  const zip = { name: "tiny.zip", mimeType: "application/zip", buffer: zipFolder(run, "tiny") };
  const studio = await startStudio({ runsDir: dir, dataDir: join(ROOT, "data") });
  const browser = await launchChromium();
  try {
    for (const colorScheme of ["light", "dark"] as const) {
      const page: Page = await browser.newPage({ viewport: { width: 1200, height: 800 }, colorScheme });
      await page.goto(studio.url); // the token's cookie
      const studioLook = await page.evaluate<string[]>(LOOK);
      await page.goto(`${studio.origin}/train/`);
      assert.deepEqual(await page.evaluate<string[]>(LOOK), studioLook, `${colorScheme}: the studio's look`);
      if (colorScheme === "dark") assert.equal(studioLook[2], "rgb(18, 18, 18)");

      // No run yet: no empty charts. A run opened from a .zip: its curves, a titled chart per figure.
      assert.equal(await page.isHidden("#charts"), true);
      await page.setInputFiles("#open-zip", zip);
      await page.waitForSelector("#charts canvas");
      await page.waitForFunction("window.mlmTab.points() > 0");
      const titles = await page.locator("#charts .chart h3").allTextContents();
      assert.ok(
        titles.some((t) => t.startsWith("loss")) && titles.some((t) => t.startsWith("perplexity")),
        titles.join(),
      );
      assert.equal(await page.locator("#charts .legend-row", { hasText: "tiny · train loss" }).count(), 1);

      const [, , wide] = await page.evaluate<number[]>(WIDTHS);
      await page.setViewportSize({ width: 375, height: 800 });
      await page.waitForTimeout(300);
      const [scrollWidth, clientWidth, canvas] = await page.evaluate<number[]>(WIDTHS);
      assert.ok(scrollWidth <= clientWidth, `${colorScheme}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth}`);
      assert.ok(canvas < wide && canvas <= 375, `chart ${canvas} px wide at 375 px (was ${wide})`);
      const shot = colorScheme === "light" ? "train-375px.png" : "train-dark-375px.png";
      await page.screenshot({ path: join(ROOT, "screenshots", shot), fullPage: true });

      assert.equal(await page.getAttribute("nav a", "href"), "../");
      await page.click("nav a");
      await page.waitForSelector("#runs-section");
      await page.close();
    }
  } finally {
    await browser.close();
    await studio.close();
  }
});
