/**
 * Reading a TensorBoard event file synchronously by its path on the local file system, for scripts and
 * tests on Node (the training loop writes event files through the platform's storage: tensorboard.ts).
 *
 * @example
 *   const losses = readScalars("runs/demo/events.out.tfevents.1764000000.box").filter((p) => p.tag === "Loss/train");
 */
import { readFileSync } from "node:fs";
import { parseEvents, scalarsOf, type ScalarPoint, type TfEvent } from "./tensorboard.js";

/** Every Event of the event file at `path` (see `parseEvents` for the checks). */
export function readEvents(path: string): TfEvent[] {
  return parseEvents(readFileSync(path), path);
}

/** All simple_value scalars of the event file at `path`, in file order. */
export function readScalars(path: string): ScalarPoint[] {
  return scalarsOf(readEvents(path));
}
