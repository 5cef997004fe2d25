/**
 * Tokenizer benchmark: mlm-ts's BPE trainer and encoder side by side with Hugging Face `tokenizers`
 * (Rust, npm) on the bundled Tatoeba corpus (65k sentences).
 *
 * Each measurement runs in a fresh child process, so its peak memory (max RSS, from
 * `process.resourceUsage()`) belongs to that task alone; the "baseline" row is a child that only loads
 * both libraries. Encoding tasks also hold the corpus (65k strings) in memory; training tasks read the
 * file themselves. Times are medians of the repeats inside the child.
 *
 * Run: `node --import tsx bench/tokenizer.ts` (or `node dist/bench/tokenizer.js` after a build);
 * `--quick` does one repeat.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundledCorpusPath } from "../src/data/paths.js";

type Task =
  "baseline" | "train-ours" | "train-rust" | "train-ours-tutorial" | "encode-ours" | "encodeids-ours" | "encode-rust";

interface ChildResult {
  seconds: number;
  peakMiB: number;
}

const HERE = fileURLToPath(import.meta.url);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs one task `repeats` times in this (child) process and prints its result as JSON. */
async function runChild(task: Task, repeats: number, tokenizerPath: string): Promise<void> {
  const ours = await import("../src/tokenizer/index.js");
  const rustLib = await import("tokenizers");
  const corpus = bundledCorpusPath();
  // Only the encoding tasks hold the corpus in memory; training streams it from the file.
  const lines = task.startsWith("encode")
    ? readFileSync(corpus, "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
    : [];
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    switch (task) {
      case "baseline":
        break;
      case "train-ours":
        await ours.trainBpe(corpus, ours.RUST_DEFAULT_TRAINER);
        break;
      case "train-ours-tutorial":
        await ours.trainBpe(corpus);
        break;
      case "train-rust": {
        const t = new rustLib.Tokenizer(rustLib.BPE.empty());
        t.setPreTokenizer(rustLib.whitespacePreTokenizer());
        t.train([corpus]);
        break;
      }
      case "encode-ours": {
        const tok = ours.Tokenizer.load(tokenizerPath); // fresh, so its word cache starts empty
        tok.encodeBatch(lines);
        break;
      }
      case "encodeids-ours": {
        const tok = ours.Tokenizer.load(tokenizerPath);
        for (const l of lines) tok.encodeIds(l);
        break;
      }
      case "encode-rust": {
        const tok = rustLib.Tokenizer.fromFile(tokenizerPath);
        await tok.encodeBatch(lines);
        break;
      }
    }
    times.push((performance.now() - t0) / 1000);
  }
  const result: ChildResult = { seconds: median(times), peakMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(result) + "\n");
}

function spawnTask(task: Task, repeats: number, tokenizerPath: string): ChildResult {
  const r = spawnSync(process.execPath, [...process.execArgv, HERE, "--child", task, String(repeats), tokenizerPath], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0)
    throw new Error(`bench child ${task} failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  const last = r.stdout.trim().split("\n").pop() as string;
  return JSON.parse(last) as ChildResult;
}

/**
 * Runs the benchmark and returns its figures (seconds, sentences/s, peak MiB per task).
 *
 * @example
 *   const figures = await runTokenizerBench({ quick: true });
 *   figures["train_ratio_ours_over_rust"] // e.g. 0.4
 */
export async function runTokenizerBench(opts: { quick?: boolean } = {}): Promise<Record<string, number>> {
  const repeats = opts.quick ? 1 : 3;
  const ours = await import("../src/tokenizer/index.js");
  const corpus = bundledCorpusPath();
  const nSentences = readFileSync(corpus, "utf8")
    .split("\n")
    .filter((l) => l.length > 0).length;
  const dir = mkdtempSync(join(tmpdir(), "mlm-tokenizer-bench-"));
  const tokenizerPath = join(dir, "tokenizer.json");
  try {
    (await ours.trainBpe(corpus)).save(tokenizerPath);
    const tasks: Task[] = [
      "baseline",
      "train-ours",
      "train-rust",
      "train-ours-tutorial",
      "encode-ours",
      "encodeids-ours",
      "encode-rust",
    ];
    const out: Record<string, number> = { sentences: nSentences, repeats };
    for (const task of tasks) {
      const r = spawnTask(task, repeats, tokenizerPath);
      const key = task.replaceAll("-", "_");
      out[`${key}_seconds`] = r.seconds;
      out[`${key}_peak_mib`] = r.peakMiB;
      if (task !== "baseline") out[`${key}_sentences_per_s`] = nSentences / r.seconds;
    }
    out.train_ratio_ours_over_rust = out.train_ours_seconds / out.train_rust_seconds;
    out.encode_ratio_ours_over_rust = out.encode_ours_seconds / out.encode_rust_seconds;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(f: Record<string, number>): void {
  const rows: [string, string][] = [
    ["baseline (both libraries loaded)", "baseline"],
    ["train, Rust default settings: ours", "train_ours"],
    ["train, Rust default settings: Rust", "train_rust"],
    ["train, tutorial settings: ours", "train_ours_tutorial"],
    ["encodeBatch, tutorial tokenizer: ours", "encode_ours"],
    ["encodeIds loop, tutorial tokenizer: ours", "encodeids_ours"],
    ["encodeBatch, tutorial tokenizer: Rust", "encode_rust"],
  ];
  console.log(
    `Tatoeba corpus: ${f.sentences} sentences, median of ${f.repeats} run(s), each task in its own process\n`,
  );
  console.log(`${"task".padEnd(42)} ${"seconds".padStart(8)} ${"sent/s".padStart(10)} ${"peak MiB".padStart(9)}`);
  for (const [label, key] of rows) {
    const sps = f[`${key}_sentences_per_s`];
    console.log(
      `${label.padEnd(42)} ${f[`${key}_seconds`].toFixed(3).padStart(8)} ` +
        `${(sps === undefined ? "-" : Math.round(sps).toString()).padStart(10)} ${f[`${key}_peak_mib`].toFixed(0).padStart(9)}`,
    );
  }
  console.log(`\ntraining time ours/Rust: ${f.train_ratio_ours_over_rust.toFixed(2)} (target <= 1.5)`);
  console.log(`encodeBatch time ours/Rust: ${f.encode_ratio_ours_over_rust.toFixed(2)} (target <= 1)`);
}

if (process.argv[1] !== undefined && process.argv[1] === HERE) {
  const childAt = process.argv.indexOf("--child");
  if (childAt >= 0) {
    const [task, repeats, path] = process.argv.slice(childAt + 1);
    await runChild(task as Task, Number(repeats), path);
  } else {
    const figures = await runTokenizerBench({ quick: process.argv.includes("--quick") });
    printTable(figures);
    console.log(JSON.stringify(figures));
  }
}
