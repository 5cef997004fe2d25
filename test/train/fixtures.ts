/** Shared pieces of the training tests: a tiny corpus, a tiny run's config, a run killed mid-way. */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig, type TrainConfig } from "../../src/config/index.js";
import { Rng } from "../../src/util/rng.js";

/** 300 short sentences from a few templates: learnable in a few hundred tiny steps. */
export function writeTinyCorpus(dir: string): string {
  const rng = new Rng(3);
  const subjects = ["the cat", "the dog", "a bird", "my friend", "the teacher", "tom", "mary", "the child"];
  const verbs = ["likes", "sees", "wants", "finds", "eats", "has"];
  const objects = ["the apple", "a book", "the ball", "some water", "the red car", "a green hat", "the cake"];
  const lines = new Set<string>();
  while (lines.size < 300) {
    lines.add(
      `${subjects[rng.int(subjects.length)]} ${verbs[rng.int(verbs.length)]} ${objects[rng.int(objects.length)]} .`,
    );
  }
  const path = join(dir, "corpus.txt");
  writeFileSync(path, [...lines].join("\n") + "\n");
  return path;
}

/** A tiny model on the tiny corpus (plain TypeScript backend unless overridden). */
export function tinyConfig(dir: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig({
    data: writeTinyCorpus(dir),
    sample: 1,
    vocabSize: 80,
    minFrequency: 1,
    maxLen: 16,
    dModel: 32,
    numLayers: 2,
    numHeads: 2,
    dFF: 64,
    dropout: 0.1,
    batchSize: 16,
    learningRate: 3e-3,
    epochs: 100,
    maxSteps: 120,
    evalSteps: 40,
    logSteps: 20,
    backend: "ts",
    progress: false,
    cacheDir: join(dir, "cache"),
    outDir: join(dir, "run"),
    ...overrides,
  });
}

/**
 * Runs `train` with `config` through the CLI in a child process and kills it (SIGKILL) at the
 * first evaluation at step >= minStep (the run has checkpointed by then). Returns that step.
 */
export async function trainUntilKilled(config: TrainConfig, configFile: string, minStep: number): Promise<number> {
  // progress on: the child reports each evaluation on stderr (plain lines, not a terminal).
  writeFileSync(configFile, JSON.stringify({ ...config, progress: true }));
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const cli = fileURLToPath(new URL(`../../src/cli/main${ext}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, cli, "train", "--config", configFile], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const killedAt = await new Promise<number>((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const m = /step (\d+): new best validation loss|step (\d+): validation loss/g;
      for (const match of text.matchAll(m)) {
        const step = Number(match[1] ?? match[2]);
        if (step >= minStep && child.exitCode === null && !child.killed) {
          child.kill("SIGKILL");
          resolve(step);
        }
      }
    });
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`child ended by itself (code ${code}): ${text.slice(-500)}`));
    });
  });
  await new Promise((r) => child.once("close", r));
  return killedAt;
}
