/**
 * Which checkpoint a run's pipelines load (best/, else the newest last-*), and its step: what the page
 * says beside a fill-mask or classification result.
 */
import { platform } from "../../src/platform/index.js";
import { CHECKPOINT_FILES, resolveCheckpointDir } from "../../src/run/index.js";
import type { UsedCheckpoint } from "./protocol.js";

/** The step of a checkpoint folder (its train_state.json's), or null when it records none. */
export async function usedCheckpoint(checkpointDir: string): Promise<UsedCheckpoint> {
  const { storage } = platform();
  const { step } = JSON.parse(await storage.readText(storage.path.join(checkpointDir, CHECKPOINT_FILES.state))) as {
    step?: unknown;
  };
  return { dir: checkpointDir, step: typeof step === "number" ? step : null };
}

/** "checkpoint best, step 40" for what `runDir`'s pipelines load now, or why there is none. */
export async function describeRunCheckpoint(runDir: string): Promise<string> {
  try {
    return describeCheckpoint(await usedCheckpoint((await resolveCheckpointDir(runDir)).checkpointDir));
  } catch (err) {
    return `no checkpoint yet (${(err as Error).message})`;
  }
}

export const describeCheckpoint = (c: UsedCheckpoint): string =>
  `checkpoint ${platform().storage.path.basename(c.dir)}, step ${c.step ?? "?"}`;
