// What the /train/ page's tests share: a run folder as the .zip the page opens, a run the page
// downloaded unpacked to a folder, and a metrics record's figures without its clock.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { unzipSync, zipSync } from "fflate";
import type { Download } from "playwright-core";
import type { MetricsRecord } from "../../src/run/index.js";

/** Every file of `dir` in a .zip, under the folder `name` (as the page's downloads hold a run). */
export function zipFolder(dir: string, name: string): Buffer {
  const files: Record<string, Uint8Array> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[`${name}/${relative(dir, path)}`] = readFileSync(path);
    }
  };
  walk(dir);
  return Buffer.from(zipSync(files));
}

/** Saves a run the page downloaded as a .zip and unpacks it under `dir`; returns the run's folder. */
export async function unpackDownload(download: Download, dir: string): Promise<string> {
  const zipPath = join(dir, "run.zip");
  await download.saveAs(zipPath);
  const unpacked = join(dir, "unzipped");
  for (const [path, bytes] of Object.entries(unzipSync(readFileSync(zipPath)))) {
    if (path.endsWith("/")) continue;
    mkdirSync(dirname(join(unpacked, path)), { recursive: true });
    writeFileSync(join(unpacked, path), bytes);
  }
  return join(unpacked, download.suggestedFilename().replace(/\.zip$/, ""));
}

/** A record without what depends on the clock (its time and throughput). */
export function figures(r: MetricsRecord): Record<string, unknown> {
  const { time: _time, tokensPerSec: _rate, ...rest } = r as MetricsRecord & { time?: number; tokensPerSec?: number };
  return rest;
}
