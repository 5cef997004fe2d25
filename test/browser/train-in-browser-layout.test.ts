// The /train/ page's layout in headless Chromium: at 375 px wide nothing scrolls sideways (the loss
// chart follows the page's width, before and after a resize), and a link leads back to the studio.
// Screenshot: screenshots/train-375px.png.
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startStudio } from "../../src/studio/server.js";
import { ROOT } from "../studio/fixtures.js";
import { tempDir } from "../temp-dir.js";
import { launchChromium } from "./chromium.js";

test("/train/ fits a 375 px screen, resizes its chart and links back to the studio", async () => {
  const dir = tempDir("mlm-train-layout-");
  mkdirSync(join(ROOT, "screenshots"), { recursive: true });
  const studio = await startStudio({ runsDir: dir, dataDir: join(ROOT, "data") });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(studio.url); // the token's cookie
    await page.goto(`${studio.origin}/train/`);
    await page.waitForSelector("#charts canvas");
    const wide = await page.evaluate<number>("document.querySelector('#charts canvas').getBoundingClientRect().width");
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    const [scrollWidth, clientWidth, canvas] = await page.evaluate<number[]>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.querySelector('#charts canvas').getBoundingClientRect().width]",
    );
    assert.ok(scrollWidth <= clientWidth, `scrollWidth ${scrollWidth} > clientWidth ${clientWidth}`);
    assert.ok(canvas < wide && canvas <= 375, `chart ${canvas} px wide at 375 px (was ${wide})`);
    assert.equal(await page.getAttribute("nav a", "href"), "../");
    await page.click("nav a");
    await page.waitForSelector("#runs-section");
    await page.goBack();
    await page.screenshot({ path: join(ROOT, "screenshots", "train-375px.png"), fullPage: true });
  } finally {
    await browser.close();
    await studio.close();
  }
});
