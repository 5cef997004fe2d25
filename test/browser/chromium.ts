/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core.
 * A missing browser is an error, never a skip: CI installs the package (see .ci/run), and a test that
 * cannot see the page has proved nothing. `MLM_CHROMIUM` names another binary.
 *
 * @example
 *   const browser = await launchChromium();
 *   try {
 *     const page = await browser.newPage();
 *     await page.goto("http://127.0.0.1:8080/");
 *   } finally {
 *     await browser.close();
 *   }
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser } from "playwright-core";

/** The Chromium binary: $MLM_CHROMIUM, else `chromium` on the PATH; throws naming where it looked. */
export function chromiumPath(): string {
  const given = process.env.MLM_CHROMIUM;
  const candidates =
    given !== undefined && given !== ""
      ? [given]
      : (process.env.PATH ?? "").split(delimiter).flatMap((dir) => (dir === "" ? [] : [join(dir, "chromium")]));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here: try the next one
    }
  }
  throw new Error(
    `browser tests: no Chromium found (looked for ${given !== undefined && given !== "" ? `$MLM_CHROMIUM = ${given}` : "`chromium` on the PATH"}); ` +
      "install Debian's package: apt-get install chromium",
  );
}

/**
 * Launches headless Chromium with `args` (without its sandbox when running as root, which Chromium
 * refuses otherwise).
 */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...args, ...(root ? ["--no-sandbox"] : [])],
  });
}

/**
 * The environment that gives Dawn (the npm package `webgpu`) in Node a software GPU on a machine
 * without one: Debian's Chromium ships SwiftShader's Vulkan driver and a Vulkan loader
 * (libvulkan.so.1) in /usr/lib/chromium (or $MLM_CHROMIUM_LIB); the loader reads the driver's manifest
 * from VK_ICD_FILENAMES. A missing driver is an error, as a missing Chromium is.
 */
export function swiftShaderVulkanEnv(): NodeJS.ProcessEnv {
  const dir = process.env.MLM_CHROMIUM_LIB ?? "/usr/lib/chromium";
  for (const file of ["vk_swiftshader_icd.json", "libvk_swiftshader.so", "libvulkan.so.1"]) {
    try {
      accessSync(join(dir, file), constants.R_OK);
    } catch {
      throw new Error(
        `webgpu tests: ${join(dir, file)} is missing (SwiftShader's Vulkan driver, from Debian's chromium package): apt-get install chromium`,
      );
    }
  }
  const libraryPath = [dir, process.env.LD_LIBRARY_PATH].filter((p) => p !== undefined && p !== "").join(delimiter);
  return { ...process.env, VK_ICD_FILENAMES: join(dir, "vk_swiftshader_icd.json"), LD_LIBRARY_PATH: libraryPath };
}
