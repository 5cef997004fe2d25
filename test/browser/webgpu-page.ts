/**
 * A page with WebGPU for the webgpu tests and the bench: `entry` (a TypeScript module, path from the
 * repository root) bundled by esbuild into `folder` with an index.html that imports it, served from
 * 127.0.0.1 (a secure context: about:blank has no navigator.gpu), in headless Chromium with WebGPU on
 * its software GPU, SwiftShader (`--enable-unsafe-webgpu --use-webgpu-adapter=swiftshader`: every
 * machine that runs the tests has that adapter, GPU or not), or on the machine's GPU ("hardware":
 * `--enable-unsafe-webgpu --enable-features=Vulkan`, Chromium's switches for WebGPU on Linux). The
 * entry sets `window.pageReady` once its functions are on `window`.
 *
 * @example
 *   const tab = await openWebGpuPage("test/browser/webgpu-kernels-page.ts", { folder: tempDir() });
 *   try { await tab.page.evaluate("window.checks()"); } finally { await tab.close(); }
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { serveFolder } from "./static-server.js";
// @ts-expect-error: a JavaScript build script without type declarations
import { browserBundleOptions } from "../../../scripts/browser-bundle.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Chromium's switches for WebGPU on each kind of adapter (headless Chromium has no WebGPU without them). */
export const ADAPTER_SWITCHES = {
  swiftshader: ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"],
  hardware: ["--enable-unsafe-webgpu", "--enable-features=Vulkan"],
};

export async function openWebGpuPage(
  entry: string,
  options: { folder: string; adapter?: keyof typeof ADAPTER_SWITCHES },
): Promise<{ page: Page; close(): Promise<void> }> {
  const dir = options.folder;
  // the library's browser bundle settings: Node-only functions stubbed, csv-parse's browser build, the built kernels
  await build({ ...browserBundleOptions(), entryPoints: [join(ROOT, entry)], outfile: join(dir, "main.js") });
  writeFileSync(
    join(dir, "index.html"),
    '<!doctype html><meta charset="utf-8"><script type="module" src="main.js"></script>',
  );
  const server = await serveFolder(dir, { isolated: false });
  const browser = await launchChromium(ADAPTER_SWITCHES[options.adapter ?? "swiftshader"]);
  const close = async (): Promise<void> => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    // a page whose module throws never gets ready: its error is the one to report
    const ready = page.waitForFunction("window.pageReady === true || window.pageReady === false", null, {
      timeout: 30_000,
    });
    await ready.catch((err: Error) => errors.push(err.message));
    if (errors.length > 0) throw new Error(`the page failed: ${errors.join("; ")}`);
    return { page, close };
  } catch (err) {
    await close();
    throw err;
  }
}
