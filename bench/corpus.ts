/**
 * Corpora of any size: a generated corpus (varied sentences, several files, gzipped and plain) is
 * prepared by streaming into the token cache, then trained on for 100 steps with batches read from
 * the cache; each phase in its own process, so that its peak memory (max RSS) is its own. A third
 * process compares the training step with the in-memory loader and with the cache loader on the
 * bundled corpus (the same sentences, the same batches).
 *
 *   node dist/bench/corpus.js --mb 2048          the whole part, as `npm run bench` runs it (generate, prepare,
 *                                                train, compare; the corpus and its cache made under TMPDIR, removed after)
 *   node dist/bench/corpus.js --phase generate --dir D --mb 100
 *   node dist/bench/corpus.js --phase prepare --dir D --cache C [--tokenize-threads N]   (default: one per core but one, at most 3; 0: this thread)
 *   node dist/bench/corpus.js --phase train --dir D --cache C --steps 100
 *   node dist/bench/corpus.js --phase compare --steps 60
 *
 * Each phase prints one JSON line on stdout.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createGzip } from "node:zlib";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { resolveConfig, type TrainConfig } from "../src/config/index.js";
import { createBackend } from "../src/engine/create.js";
import {
  MlmDataLoader,
  openTokenCache,
  prepareData,
  prepareStreamed,
  runLoaders,
  TokenCacheWriter,
  type TokenizedSplit,
} from "../src/data/index.js";
import { buildModel, capacityFor } from "../src/model/index.js";
import { modelConfigFrom } from "../src/run/index.js";
import { adamFor } from "../src/train/optimizer.js";
import { Rng } from "../src/util/rng.js";

const FILES = 8;
/** Steps of each loader in the comparison on the bundled corpus (`npm run bench` and this script alone). */
export const COMPARE_STEPS = 60;

/** The run's settings: the tutorial's, on the corpus folder `dir`, without progress bars. */
function benchConfig(dir: string | null, cacheDir: string): TrainConfig {
  return resolveConfig({ data: dir, cacheDir, progress: false, backend: "wasm" });
}

/** Writes about `mb` MB of varied sentences into FILES files, every other one gzipped. */
async function generate(dir: string, mb: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const rng = Rng.derive(7, "bench/corpus");
  // 6,000 words of 1 to 4 syllables: a vocabulary a 25,000-token BPE cannot hold whole.
  const syllables =
    "ka lo mi ne ru sa te vo pi da go lu fe ri zo ba ce di ha jo ku ma no pe qu si ta ve wi xe yo zu".split(" ");
  const words = Array.from({ length: 6000 }, () =>
    Array.from({ length: 1 + rng.int(4) }, () => syllables[rng.int(syllables.length)]).join(""),
  );
  const perFile = (mb * 1e6) / FILES;
  let total = 0;
  let lines = 0;
  for (let f = 0; f < FILES; f++) {
    const gz = f % 2 === 1;
    const path = join(dir, `part-${f}.txt${gz ? ".gz" : ""}`);
    const out = gz ? createGzip({ level: 1 }) : null;
    const sink = out === null ? null : createWriteStream(path);
    out?.pipe(sink!);
    const fd = out === null ? openSync(path, "w") : -1;
    let written = 0;
    while (written < perFile) {
      const parts: string[] = [];
      for (let i = 0; i < 20000; i++) {
        // Zipf-like word choice (frequent words often), 4 to 20 words, a number now and then.
        const n = 4 + rng.int(17);
        const ws: string[] = [];
        for (let k = 0; k < n; k++) ws.push(words[Math.floor(words.length * rng.float() ** 3)]);
        if (rng.int(10) === 0) ws.push(String(rng.int(10000)));
        const s = ws.join(" ");
        parts.push(s.charAt(0).toUpperCase() + s.slice(1) + ".");
      }
      const chunk = parts.join("\n") + "\n";
      written += chunk.length;
      lines += parts.length;
      if (out === null) writeSync(fd, chunk);
      else if (!out.write(chunk)) await once(out, "drain");
    }
    total += written;
    if (out === null) closeSync(fd);
    else {
      out.end();
      await once(sink!, "close");
    }
  }
  return { textMB: total / 1e6, lines, seconds: (performance.now() - t0) / 1000 };
}

/** Streams the corpus into the token cache (training the tokenizer first, as a new run does). */
async function prepare(dir: string, cacheDir: string, tokenizeThreads?: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const data = await prepareStreamed({
    config: benchConfig(dir, cacheDir),
    log: (l) => process.stderr.write(l + "\n"),
    tokenizeThreads,
  });
  const seconds = (performance.now() - t0) / 1000;
  data.tokenizer.save(join(cacheDir, "tokenizer.json"));
  return {
    seconds,
    // CPU time of this process: on a shared machine, MB per CPU second is what the code costs.
    cpuSeconds: (() => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1e6;
    })(),
    sample: benchConfig(dir, cacheDir).sample,
    rawMB: data.stats.rawBytes / 1e6,
    // Both passes (tokenizer's share, then the corpus) over the files' bytes as stored.
    mbPerSecond: data.stats.rawBytes / 1e6 / seconds,
    corpusPassMBPerSecond: data.stats.rawBytes / 1e6 / data.stats.seconds,
    sentences: data.stats.sentences,
    train: data.train.count,
    valid: data.valid.count,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A model for the loaders, its optimizer, and a function timing `steps` steps of one loader. */
async function stepper(config: TrainConfig, vocabSize: number, loaders: MlmDataLoader[]) {
  const inner = await createBackend("wasm", config.threads);
  const { model, backend, dispose } = await buildModel({
    config: modelConfigFrom(config, vocabSize),
    capacity: capacityFor(loaders),
    backend: inner,
    threads: config.threads,
    weights: Rng.derive(config.seed, "init"),
  });
  const adam = adamFor(backend, model, config);
  const dropoutRng = Rng.derive(config.seed, "dropout");
  const run = (loader: MlmDataLoader, steps: number): { step: number[]; data: number[] } => {
    const step: number[] = [];
    const data: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const { batch } = loader.next();
      const t1 = performance.now();
      model.forwardBackward(batch, { train: true, dropoutRng, fullHead: config.fullHead });
      adam.update(model.params, model.grads, config.learningRate);
      step.push(performance.now() - t0);
      data.push(t1 - t0);
    }
    return { step, data };
  };
  return {
    run,
    dispose: () => {
      dispose();
      inner.dispose();
    },
  };
}

/** 100 (or `steps`) training steps with batches read from the token cache made by `prepare`. */
async function trainFromCache(dir: string, cacheDir: string, steps: number): Promise<Record<string, number>> {
  const config = { ...benchConfig(dir, cacheDir), tokenizer: join(cacheDir, "tokenizer.json"), shuffle: true };
  const t0 = performance.now();
  const data = await prepareData(config, () => undefined);
  const openSeconds = (performance.now() - t0) / 1000;
  const { train, valid } = runLoaders(config, data.tokenizer, data.train, data.valid);
  const s = await stepper(config, data.tokenizer.vocabSize, [train, valid]);
  try {
    s.run(train, 3); // warm-up
    const r = s.run(train, steps);
    return {
      steps,
      openSeconds,
      msPerStepMedian: median(r.step),
      dataMsPerStepMedian: median(r.data),
      dataShare: r.data.reduce((a, b) => a + b, 0) / r.step.reduce((a, b) => a + b, 0),
      trainSentences: train.count,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    s.dispose();
  }
}

/**
 * The bundled corpus with the tutorial's settings: its training split in memory, and the same split
 * written to a token cache; the same batches timed with each loader, step and step about.
 */
async function compareLoaders(steps: number): Promise<Record<string, number>> {
  const cacheDir = mkdtempSync(join(tmpdir(), "mlm-bench-cache-"));
  try {
    const config = benchConfig(null, cacheDir);
    const data = await prepareData(config, () => undefined);
    const split = data.train as TokenizedSplit;
    const writer = await TokenCacheWriter.create(cacheDir, "c".repeat(64), data.tokenizer.vocabSize);
    for (let i = 0; i < split.count; i++)
      writer.add("train", split.ids.subarray(split.offsets[i], split.offsets[i + 1]));
    writer.add("valid", split.ids.subarray(0, split.offsets[1]));
    await writer.finish(null);
    const opened = await openTokenCache(cacheDir, "c".repeat(64));
    if (opened === null || "unusable" in opened) throw new Error("bench: the token cache cannot be read back");
    const memory = runLoaders(config, data.tokenizer, split, data.valid).train;
    const disk = runLoaders(config, data.tokenizer, opened.train, data.valid).train;
    const s = await stepper(config, data.tokenizer.vocabSize, [memory, disk]);
    try {
      s.run(memory, 3);
      s.run(disk, 3);
      const m = { step: [] as number[], data: [] as number[] };
      const d = { step: [] as number[], data: [] as number[] };
      // Alternating steps: both loaders see the same machine load (other processes come and go), and
      // each goes first every other time (memory, cache, cache, memory, ...), so that neither always
      // runs right after the other has warmed the caches.
      const memoryFirst = [
        [memory, m],
        [disk, d],
      ] as const;
      const cacheFirst = [memoryFirst[1], memoryFirst[0]] as const;
      for (let k = 0; k < steps; k++) {
        for (const [loader, into] of k % 2 === 0 ? memoryFirst : cacheFirst) {
          const r = s.run(loader, 1);
          into.step.push(...r.step);
          into.data.push(...r.data);
        }
      }
      return {
        steps: m.step.length,
        memoryMsPerStepMedian: median(m.step),
        cacheMsPerStepMedian: median(d.step),
        cacheOverMemory: median(d.step) / median(m.step),
        // Step k of each loader is the same batch, timed one after the other: their ratio sees nearly
        // the same machine load, so its median is steadier than the ratio of the medians.
        cacheOverMemoryPairedMedian: median(d.step.map((t, k) => t / m.step[k])),
        memoryDataMsMedian: median(m.data),
        cacheDataMsMedian: median(d.data),
        cacheDataShare: median(d.data) / median(d.step),
      };
    } finally {
      s.dispose();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Runs one phase of this script in a child process; returns its JSON line. */
function phase(args: string[]): Record<string, number> {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [...process.execArgv, script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
}

/** The whole part: generate `mb` MB, prepare, train `steps` steps, compare the loaders; the corpus removed after. */
export function runCorpusBench(options: {
  mb: number;
  steps: number;
  compareSteps: number;
  log: (l: string) => void;
}): Record<string, number> {
  const { log } = options;
  const root = mkdtempSync(join(tmpdir(), "mlm-bench-corpus-"));
  const dir = join(root, "corpus");
  const cache = join(root, "cache");
  const all: Record<string, number> = {};
  // Ctrl-C reaches the phase's child (the same process group), which ends; its error then takes the
  // finally below, which removes the corpus and the cache (gigabytes) instead of leaving them in TMPDIR.
  const keepRunningOnInterrupt = (): void => undefined;
  process.on("SIGINT", keepRunningOnInterrupt);
  try {
    checkFreeSpace(root, options.mb);
    execFileSync("mkdir", ["-p", dir, cache]);
    const g = phase(["--phase", "generate", "--dir", dir, "--mb", String(options.mb)]);
    log(
      `generated ${g.textMB.toFixed(0)} MB of text, ${g.lines} lines, in ${FILES} files (half gzipped) in ${g.seconds.toFixed(0)} s ` +
        `under ${root}; ${loadLine()}`,
    );
    const p = phase(["--phase", "prepare", "--dir", dir, "--cache", cache]);
    log(
      `prepare (sample ${p.sample}: every unique sentence): ${p.rawMB.toFixed(0)} MB as stored in ${p.seconds.toFixed(0)} s = ` +
        `${p.mbPerSecond.toFixed(1)} MB/s overall (tokenizer pass + corpus pass; the corpus pass alone ${p.corpusPassMBPerSecond.toFixed(1)} MB/s; ` +
        `${(p.rawMB / p.cpuSeconds).toFixed(1)} MB per CPU second), ` +
        `${p.train} train / ${p.valid} valid sentences, peak RSS ${p.peakRssMiB.toFixed(0)} MiB (target < 1024); ${loadLine()}`,
    );
    const t = phase(["--phase", "train", "--dir", dir, "--cache", cache, "--steps", String(options.steps)]);
    log(
      `train from the cache (shuffled): ${t.steps} steps, ${t.msPerStepMedian.toFixed(1)} ms/step (data ${t.dataMsPerStepMedian.toFixed(3)} ms, ` +
        `${(100 * t.dataShare).toFixed(2)}% of the time), peak RSS ${t.peakRssMiB.toFixed(0)} MiB (target < 1024), ` +
        `opening and checking the cache ${t.openSeconds.toFixed(1)} s; ${loadLine()}`,
    );
    for (const [k, v] of Object.entries(g)) all[`corpus.generate.${k}`] = v;
    for (const [k, v] of Object.entries(p)) all[`corpus.prepare.${k}`] = v;
    for (const [k, v] of Object.entries(t)) all[`corpus.train.${k}`] = v;
  } finally {
    rmSync(root, { recursive: true, force: true });
    process.off("SIGINT", keepRunningOnInterrupt);
  }
  const c = phase(["--phase", "compare", "--steps", String(options.compareSteps)]);
  log(
    `bundled corpus, tutorial settings: ${c.memoryMsPerStepMedian.toFixed(1)} ms/step in memory, ${c.cacheMsPerStepMedian.toFixed(1)} ms/step ` +
      `from the token cache: ratio ${c.cacheOverMemory.toFixed(3)}, median of the ${c.steps} same-batch pairs ` +
      `${c.cacheOverMemoryPairedMedian.toFixed(3)} (target within 2%); data ${c.cacheDataMsMedian.toFixed(3)} ms ` +
      `= ${(100 * c.cacheDataShare).toFixed(2)}% of a step (target < 1%; in memory ${c.memoryDataMsMedian.toFixed(3)} ms); ${loadLine()}`,
  );
  for (const [k, v] of Object.entries(c)) all[`corpus.compare.${k}`] = v;
  all["corpus.loadAverage1m"] = loadavg()[0];
  return all;
}

/** The machine's load (other processes make the times longer; the memory figures do not depend on it). */
function loadLine(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(", ")}`;
}

/**
 * Refuses to start when the temporary folder's disk cannot hold the corpus and its cache: the corpus
 * takes about 0.7 of its text's size as stored (half of it gzipped), the token cache about 0.4 (2 bytes
 * a token, about 5 characters a token; measured at 2 GB: 2.3 GB in all), so 1.5 times the text with a margin.
 */
function checkFreeSpace(root: string, mb: number): void {
  const fs = statfsSync(root);
  const freeMB = (fs.bavail * fs.bsize) / 1e6;
  if (freeMB < 1.5 * mb)
    throw new Error(
      `bench corpus: ${root} has ${freeMB.toFixed(0)} MB free; a ${mb} MB corpus and its token cache need about ${(1.5 * mb).toFixed(0)} MB (set TMPDIR to a larger disk)`,
    );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      phase: { type: "string" },
      dir: { type: "string" },
      cache: { type: "string" },
      mb: { type: "string", default: "2048" },
      steps: { type: "string", default: "100" },
      "tokenize-threads": { type: "string" },
    },
  });
  const steps = Number(values.steps);
  let r: Record<string, number>;
  switch (values.phase) {
    case undefined:
      r = runCorpusBench({
        mb: Number(values.mb),
        steps,
        compareSteps: COMPARE_STEPS,
        log: (l) => process.stderr.write(l + "\n"),
      });
      break;
    case "generate":
      r = await generate(values.dir!, Number(values.mb));
      break;
    case "prepare":
      r = await prepare(
        values.dir!,
        values.cache!,
        values["tokenize-threads"] === undefined ? undefined : Number(values["tokenize-threads"]),
      );
      break;
    case "train":
      r = await trainFromCache(values.dir!, values.cache!, steps);
      break;
    case "compare":
      r = await compareLoaders(steps);
      break;
    default:
      throw new Error(`unknown --phase ${values.phase}`);
  }
  process.stdout.write(JSON.stringify(r) + "\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`bench corpus: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
