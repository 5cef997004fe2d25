import { strict as assert } from "node:assert";
import { test } from "node:test";
import { launchChromium } from "./chromium.js";

// The other browser suites rest on this: a real Chromium starts, runs WebAssembly SIMD and reports itself.
test("Debian's Chromium starts headless and runs WebAssembly SIMD", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD exists
    // (the expression runs in the page, where WebAssembly is defined; the Node typings lack it)
    const simd = await page.evaluate(
      "WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,22,1,20,0,253,12," +
        "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,11]))",
    );
    assert.equal(simd, true);
    assert.match(browser.version(), /^\d+\./);
  } finally {
    await browser.close();
  }
});
