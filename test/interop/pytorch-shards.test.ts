// The PyTorch export's data in shards: a tiny run of a streamed corpus (its splits in the on-disk token
// cache) exported whole (one shard) and in shards of 64 tokens. The shards hold the token cache's
// training ids byte for byte (uint16, as the cache stores them), no data file is larger than a shard,
// mlm_torch.py memory-maps them, and training in PyTorch from either export gives the same losses,
// validation loss and weights, bit for bit: the shard size changes nothing PyTorch computes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { exportPytorch } from "../../src/interop/index.js";
import { python, trainTinyInteropRun } from "./tiny-interop-run.js";

const TORCH = ["numpy", "torch"] as const;
const SHARD_TOKENS = 64;

interface SplitRecord {
  sentences: number;
  tokens: number;
  shards: number;
}
interface DataRecord {
  format: string;
  idsDtype: string;
  shardTokens: number;
  train: SplitRecord;
  valid: SplitRecord;
}

const dataRecord = (dir: string): DataRecord =>
  (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { data: DataRecord }).data;

/** The data bytes and dtype of a .npy file. */
function npy(path: string): { descr: string; data: Buffer } {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const descr = /'descr': '([^']+)'/.exec(bytes.subarray(10, 10 + headerLength).toString("latin1"))![1];
  return { descr, data: bytes.subarray(10 + headerLength) };
}

/** The training split's ids of an export, its shards' bytes back to back. */
function trainIds(dir: string, shards: number): Buffer {
  return Buffer.concat(
    Array.from({ length: shards }, (_, k) => {
      const { descr, data } = npy(join(dir, "data", `train-${String(k).padStart(5, "0")}.ids.npy`));
      assert.equal(descr, "<u2");
      return data;
    }),
  );
}

test("a streamed run's export: its token cache's ids in shards, memory-mapped; the shard size changes nothing PyTorch computes", async () => {
  const { dir, runDir } = await trainTinyInteropRun(20, { stream: "yes" });
  const whole = join(dir, "whole");
  const sharded = join(dir, "sharded");
  await exportPytorch(runDir, whole, "test");
  await exportPytorch(runDir, sharded, "test", { shardTokens: SHARD_TOKENS });
  const a = dataRecord(whole);
  const b = dataRecord(sharded);
  assert.equal(a.format, "npy-shards");
  assert.equal(a.idsDtype, "uint16");
  assert.equal(a.train.shards, 1);
  assert.equal(a.valid.shards, 1);
  assert.ok(b.train.shards > 3 && b.valid.shards > 1, JSON.stringify(b));
  assert.deepEqual({ ...a.train, shards: 0 }, { ...b.train, shards: 0 });
  assert.deepEqual({ ...a.valid, shards: 0 }, { ...b.valid, shards: 0 });

  // The token cache's training ids (uint16, as the streamed corpus's cache holds them), byte for byte.
  const cacheDir = (JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as { cacheDir: string }).cacheDir;
  const caches = readdirSync(cacheDir).filter((n) => n.startsWith("stream-") && !n.includes(".tmp-"));
  assert.equal(caches.length, 1, caches.join(" "));
  const cached = readFileSync(join(cacheDir, caches[0], "train.ids"));
  assert.equal(cached.length, 2 * a.train.tokens);
  assert.ok(trainIds(whole, a.train.shards).equals(cached));
  assert.ok(trainIds(sharded, b.train.shards).equals(cached));

  // No data file grows with the split: each holds at most a shard (int32 labels: 4 bytes a token).
  for (const name of readdirSync(join(sharded, "data"))) {
    const size = statSync(join(sharded, "data", name)).size;
    assert.ok(size <= 128 + 4 * (SHARD_TOKENS + 1), `${name}: ${size} bytes`);
  }

  // mlm_torch.py memory-maps every shard's ids and labels.
  const mapped = python(
    [
      "-B",
      "-c",
      [
        "import json, sys, numpy",
        `sys.path.insert(0, ${JSON.stringify(sharded)})`,
        "import mlm_torch",
        `cfg = json.load(open(${JSON.stringify(join(sharded, "config.json"))}))`,
        `split = mlm_torch.ShardedSplit(${JSON.stringify(sharded)}, cfg, "valid", labels=True)`,
        "print(split.count, all(isinstance(a, numpy.memmap) for a in split._ids + split._labels))",
      ].join("\n"),
    ],
    TORCH,
  );
  assert.equal(mapped.trim(), `${b.valid.sentences} True`);

  // Three steps in PyTorch from each: the same losses, validation loss and weights.
  const trained = (from: string): { state: Record<string, unknown>; weights: Buffer } => {
    const out = join(dir, `${from}-trained`);
    python(["-B", join(from, "mlm_torch.py"), "train", from, "--out", out, "--steps", "3", "--log-every", "1"], TORCH);
    const state = JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as Record<string, unknown>;
    return { state, weights: readFileSync(join(out, "model.safetensors")) };
  };
  const one = trained(whole);
  const many = trained(sharded);
  assert.deepEqual(many.state.train_losses, one.state.train_losses);
  assert.equal(many.state.valid_loss, one.state.valid_loss);
  assert.ok(many.weights.equals(one.weights), "the same weights after three steps");
});
