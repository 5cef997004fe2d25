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

/** Launches headless Chromium (without its sandbox when running as root, which Chromium refuses otherwise). */
export async function launchChromium(): Promise<Browser> {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: root ? ["--no-sandbox"] : [] });
}
