/**
 * Reading a metrics.jsonl file synchronously by its path on the local file system, for scripts and
 * tests on Node (the run module reads and writes it through the platform's storage: run/metrics.ts).
 *
 * @example
 *   const losses = readMetrics("runs/demo/metrics.jsonl").filter((r) => r.split === "train");
 */
import { readFileSync } from "node:fs";
import { parseMetrics, type MetricsRecord } from "../run/index.js";

/** The records of a metrics.jsonl file (see `parseMetrics` for what is skipped and what throws). */
export function readMetrics(path: string): MetricsRecord[] {
  return parseMetrics(readFileSync(path, "utf8"), path);
}
