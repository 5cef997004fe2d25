import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readSafetensors } from "../../src/run/safetensors.js";
import {
  type Checkpoint,
  type LoadCheckpointOptions,
  loadCheckpoint,
  saveCheckpoint,
} from "../../src/run/checkpoint.js";
import { platform, type Storage } from "../../src/platform/index.js";

const root = mkdtempSync(join(tmpdir(), "mlm-ckpt-"));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A checkpoint whose every value depends on `step`, so a mix of two versions is detectable. Kept as
 * JavaScript source because the crash tests' child process builds the same checkpoints from it.
 */
const SAMPLE_JS = `(step, size = 6) => {
  const fill = (n, k) => Float32Array.from({ length: n }, (_, i) => step * 1000 + k + i);
  return {
    config: { dModel: 4, layers: 2, lr: 3e-4, step },
    tensors: [
      { name: "embed.weight", shape: [size / 2, 2], data: fill(size, 0) },
      { name: "layer.0.bias", shape: [2], data: fill(2, 0.5) },
    ],
    tokenizerJson: JSON.stringify({ version: "1.0", step }),
    state: { step, epoch: 1, batchInEpoch: 3, bestValidLoss: 2.5, rng: { s: [1, 2, 3, 4] } },
    optimizer: [
      { name: "m.embed.weight", shape: [size / 2, 2], data: fill(size, 0.25) },
      { name: "v.embed.weight", shape: [size / 2, 2], data: fill(size, 0.75) },
    ],
  };
}`;
const sample = new Function(`return ${SAMPLE_JS}`)() as (step: number, size?: number) => Checkpoint;

/** Checks that `dir` holds exactly the checkpoint `sample(step)`, all files from the same save. */
async function assertIsSample(dir: string, step: number, size = 6, options: LoadCheckpointOptions = {}): Promise<void> {
  const loaded = await loadCheckpoint(dir, options);
  const expected = sample(step, size);
  assert.deepEqual(loaded.config, expected.config);
  assert.deepEqual(loaded.state, expected.state);
  assert.equal(loaded.tokenizerJson, expected.tokenizerJson);
  const byName = (ts: { name: string }[]) => [...ts].sort((a, b) => (a.name < b.name ? -1 : 1));
  assert.deepEqual(byName(loaded.tensors), byName(expected.tensors));
  assert.deepEqual(byName(loaded.optimizer ?? []), byName(expected.optimizer ?? []));
}

test("save then load gives the same checkpoint; files are the documented ones", async () => {
  const dir = join(root, "basic", "checkpoint");
  await saveCheckpoint(dir, sample(1));
  await assertIsSample(dir, 1);
  assert.deepEqual(readdirSync(dir).sort(), [
    "config.json",
    "model.safetensors",
    "optimizer.safetensors",
    "tokenizer.json",
    "train_state.json",
  ]);
  // model.safetensors is a plain safetensors file that other tools can read.
  const model = readSafetensors(readFileSync(join(dir, "model.safetensors")));
  assert.deepEqual([...model.keys()], ["embed.weight", "layer.0.bias"]);

  await saveCheckpoint(dir, { ...sample(2), optimizer: undefined });
  const loaded = await loadCheckpoint(dir);
  assert.equal(loaded.optimizer, undefined);
  assert.deepEqual(loaded.state, sample(2).state);
  assert.deepEqual(readdirSync(join(root, "basic")), ["checkpoint"]);
});

test("bad input fails before the disk is touched; missing files are named", async () => {
  const dir = join(root, "bad", "checkpoint");
  await saveCheckpoint(dir, sample(1));
  const broken = { ...sample(2), tensors: [{ name: "w", shape: [3], data: new Float32Array(2) }] };
  await assert.rejects(saveCheckpoint(dir, broken), /shape \[3\] but 2 values/);
  await assert.rejects(saveCheckpoint(dir, { ...sample(2), state: [1] }), /state must be a JSON object/);
  await assertIsSample(dir, 1);
  rmSync(join(dir, "tokenizer.json"));
  await assert.rejects(loadCheckpoint(dir), /tokenizer\.json: missing from the checkpoint/);
  writeFileSync(join(dir, "tokenizer.json"), "{}");
  writeFileSync(join(dir, "train_state.json"), "[1, 2");
  await assert.rejects(loadCheckpoint(dir), /train_state\.json: not valid JSON .*; expected a JSON object/);
  writeFileSync(join(dir, "train_state.json"), "[1, 2]");
  await assert.rejects(loadCheckpoint(dir), /train_state\.json: expected a JSON object$/);
  await assert.rejects(loadCheckpoint(join(root, "nowhere")), /no checkpoint directory/);
});

test("a save failing at any stage leaves a loadable checkpoint, old or new, and no leftovers", async () => {
  const stages = ["wrote:model.safetensors", "wrote:train_state.json", "temp-complete", "old-aside", "new-in"];
  for (const failAt of stages) {
    const parent = join(root, `inproc-${failAt.replace(":", "-")}`);
    const dir = join(parent, "checkpoint");
    await saveCheckpoint(dir, sample(1));
    const onStage = (s: string): void => {
      if (s === failAt) throw new Error("injected fault");
    };
    await assert.rejects(saveCheckpoint(dir, sample(2), { onStage }), /injected fault/);
    await assertIsSample(dir, failAt === "new-in" ? 2 : 1, 6, { repair: true });
    assert.deepEqual(readdirSync(parent), ["checkpoint"]);
  }
});

// The crash tests run a child Node process that saves checkpoints and is killed with SIGKILL. The
// child imports the checkpoint module from source (under tsx) or from dist/, like this file.
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const moduleUrl = new URL(`../../src/run/checkpoint${ext}`, import.meta.url).href;
const childArgs = [...process.execArgv, "--input-type=module", "-e"];

const childCode = (dir: string, mode: string, size: number) => `
import { writeSync } from "node:fs";
import { saveCheckpoint } from ${JSON.stringify(moduleUrl)};
const sample = ${SAMPLE_JS};
const mode = ${JSON.stringify(mode)};
const say = (s) => writeSync(1, s + "\\n");
if (mode.startsWith("stage=")) {
  // Reach the stage, report it, then hang until the parent kills us.
  await saveCheckpoint(${JSON.stringify(dir)}, sample(2, ${size}), { onStage: (s) => {
    if (s === mode.slice(6)) { say("at " + s); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }
  } });
} else {
  // Save step after step until killed, at whatever point the kill lands.
  for (let step = 2; ; step++) {
    const ckpt = sample(step, ${size});
    say("saving " + step);
    await saveCheckpoint(${JSON.stringify(dir)}, ckpt);
    say("saved " + step);
  }
}
`;

/**
 * Runs the child, and once `killDelay(stdout)` gives a number, kills it with SIGKILL that many ms
 * later. Resolves with the child's stdout.
 */
function runAndKill(
  dir: string,
  mode: string,
  size: number,
  killDelay: (out: string) => number | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [...childArgs, childCode(dir, mode, size)];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let scheduled = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const delay = scheduled ? undefined : killDelay(out);
      if (delay === undefined) return;
      scheduled = true;
      setTimeout(() => child.kill("SIGKILL"), delay);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(out);
      else reject(new Error(`child exited with ${code} before being killed:\n${err}`));
    });
  });
}

test("SIGKILL at each stage of a save leaves the old or the new checkpoint loadable", async () => {
  const size = 1 << 16;
  for (const stage of ["wrote:model.safetensors", "temp-complete", "old-aside", "new-in"]) {
    const parent = join(root, `kill-${stage.replace(":", "-")}`);
    const dir = join(parent, "checkpoint");
    mkdirSync(parent);
    await saveCheckpoint(dir, sample(1, size));
    await runAndKill(dir, `stage=${stage}`, size, (out) => (out.includes(`at ${stage}`) ? 0 : undefined));
    assert.ok(readdirSync(parent).length > 1, `the killed save at ${stage} left its temp or aside directory`);
    const expected = stage === "new-in" ? 2 : 1;
    // A reader sees a complete checkpoint and touches nothing; the owner's repairing load cleans up.
    const before = readdirSync(parent);
    await assertIsSample(dir, expected, size);
    assert.deepEqual(readdirSync(parent), before, `a plain load changed nothing after a kill at ${stage}`);
    await assertIsSample(dir, expected, size, { repair: true });
    assert.deepEqual(readdirSync(parent), ["checkpoint"], `leftovers cleaned after a kill at ${stage}`);
  }
});

test("SIGKILL at arbitrary moments while saving large checkpoints in a loop", async () => {
  const size = 1 << 20; // 4 MiB per tensor, 12 MiB per checkpoint; a save takes some 20-40 ms here
  for (const delayMs of [1, 8, 20]) {
    const parent = join(root, `kill-loop-${delayMs}`);
    const dir = join(parent, "checkpoint");
    mkdirSync(parent);
    await saveCheckpoint(dir, sample(1, size));
    // Let two saves complete, then kill `delayMs` into the third one.
    const out = await runAndKill(dir, "loop", size, (text) => (text.includes("saving 4") ? delayMs : undefined));
    const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
    const last = Math.max(1, ...saved);
    const step = ((await loadCheckpoint(dir, { repair: true })).state as { step: number }).step;
    // The last reported save, or the one in flight if the kill landed after its final rename.
    assert.ok(step === last || step === last + 1, `loaded step ${step}, last completed save ${last}`);
    await assertIsSample(dir, step, size);
    assert.deepEqual(readdirSync(parent), ["checkpoint"]);
  }
});

test("a reader loading while a save is between its renames gets the previous checkpoint and leaves the writer alone", async () => {
  const dir = join(root, "concurrent", "checkpoint");
  await saveCheckpoint(dir, sample(1));
  const seen: number[] = [];
  await saveCheckpoint(dir, sample(2), {
    onStage: async (stage) => {
      // At "old-aside" the target is missing and the new copy is still a temp directory.
      if (stage === "old-aside" || stage === "temp-complete")
        seen.push(((await loadCheckpoint(dir)).state as { step: number }).step);
    },
  });
  assert.deepEqual(seen, [1, 1]);
  await assertIsSample(dir, 2);
  assert.deepEqual(readdirSync(join(root, "concurrent")), ["checkpoint"]);
});

test("a reader of the copy set aside mid-swap, whose files are removed as the swap ends, reads the new one", async () => {
  // The reader saw the target missing (mid-swap) and chose the aside copy; by then the swap had ended:
  // the new checkpoint is in place and the aside's files are gone, its folder not yet (so it looks
  // unchanged between the reader's two looks at it).
  const parent = join(root, "aside-emptied");
  const dir = join(parent, "checkpoint");
  await saveCheckpoint(dir, sample(3));
  mkdirSync(join(parent, "checkpoint.old-emptied"));
  const real = platform().storage;
  let first = true;
  const storage: Storage = {
    ...real,
    stat: (path) => {
      const missing = first && path === dir;
      if (missing) first = false;
      return missing ? Promise.resolve(null) : real.stat(path);
    },
  };
  const loaded = await loadCheckpoint(dir, { storage });
  assert.equal((loaded.state as { step: number }).step, 3);
  assert.equal(first, false, "the reader looked at the aside copy first");
});
