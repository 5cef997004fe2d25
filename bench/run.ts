/**
 * `npm run bench`: every benchmark of the project, each measured in its own process.
 *
 *   npm run bench               full run (includes the tutorial's whole 30-epoch schedule)
 *   npm run bench -- --quick    about a minute: fewer steps, no schedule, no tokenizer bench, a 100 MB corpus
 *   npm run bench -- --corpus-mb 500   the generated corpus's size (default 2048 MB)
 *
 * Prints readable tables on stderr and, at the end, one JSON line with every figure on stdout.
 * Figures are medians; the machines are noisy, so compare runs, not single steps.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setCliEngineFlags } from "../src/cli/engine-flags.js";
import { runBrowserBench } from "./browser.js";
import { runColdStartBench } from "./cold-start.js";
import { COMPARE_STEPS, runCorpusBench } from "./corpus.js";
import { runFinetuneBench } from "./finetune.js";
import { runKernelBench } from "./kernels.js";
import { node24Binary, runNodeVersionBench } from "./node-versions.js";
import { breakdownTable } from "./profile.js";
import { runStudioBench } from "./studio.js";
import { runTokenizerBench } from "./tokenizer.js";
import { runWebGpuBench } from "./webgpu.js";

/** Runs bench/train.js with `args` in a child process and returns its JSON line. */
function trainChild(args: string[]): Record<string, number | string> {
  const script = fileURLToPath(new URL("./train.js", import.meta.url));
  const out = execFileSync(process.execPath, [...process.execArgv, script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as Record<string, number | string>;
}

function log(line: string): void {
  process.stderr.write(line + "\n");
}

async function main(): Promise<void> {
  setCliEngineFlags(); // the kernels run as under the mlm command
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      threads: { type: "string" },
      "corpus-mb": { type: "string" },
    },
  });
  const quick = values.quick;
  // Kernels are measured on 1 thread and on all cores unless --threads names one count.
  const kernelThreads = values.threads === undefined ? undefined : Number(values.threads);
  const threads = kernelThreads ?? availableParallelism();
  const all: Record<string, number | string> = { threads, quick: quick ? 1 : 0 };

  log(`== kernels (GFLOP/s, median) ==`);
  const kernels = await runKernelBench({ quick, threads: kernelThreads });
  for (const [k, v] of Object.entries(kernels)) all[`kernel.${k}`] = v;

  log(`\n== training steps on the bundled corpus (5% sample, batch 64, tutorial order) ==`);
  const steps = quick ? "10" : "40";
  const runs: [string, string[]][] = [
    [
      "default.wasm",
      ["--mode", "default", "--backend", "wasm", "--threads", String(threads), "--steps", steps, "--profile"],
    ],
    [
      "tutorial.wasm",
      [
        "--mode",
        "tutorial",
        "--backend",
        "wasm",
        "--threads",
        String(threads),
        "--steps",
        quick ? "3" : "10",
        "--warmup",
        "1",
      ],
    ],
    ["default.ts", ["--mode", "default", "--backend", "ts", "--steps", quick ? "3" : "10", "--warmup", "1"]],
  ];
  for (const [name, args] of runs) {
    const r = trainChild(args);
    log(
      `${name.padEnd(14)} ${Number(r.msPerStepMedian).toFixed(1).padStart(8)} ms/step | ${Number(r.realTokensPerSec).toFixed(0).padStart(7)} real tok/s | ` +
        `${Number(r.paddedTokensPerSec).toFixed(0).padStart(7)} padded tok/s | eval ` +
        `${Number(r.evalMsPerBatch).toFixed(1)} ms/batch | peak ${Number(r.peakRssMiB).toFixed(0)} MiB | ${r.threads} thread(s)`,
    );
    for (const [k, v] of Object.entries(r)) if (typeof v === "number") all[`${name}.${k}`] = v;
  }
  log(`\n== the default step on each Node.js (alternating fresh processes, medians; parameters' bits compared) ==`);
  for (const r of runNodeVersionBench({ rounds: quick ? 1 : 3, steps: quick ? 10 : 40 })) {
    log(
      `${r.name.padEnd(22)} ${r.version.padEnd(10)} ${r.msPerStepMedian.toFixed(1).padStart(8)} ms/step | ` +
        `${r.sameBits ? "same bits" : "other bits"} than ${process.version}`,
    );
    all[`nodeVersions.${r.name.replace(/ /g, "_")}.msPerStep`] = r.msPerStepMedian;
  }
  if (node24Binary() === null) log("(no Node 24 here: .ci/run installs it into .ci/node24, or set MLM_NODE24)");

  log(`\n== cold start of the mlm command (median of ${quick ? 1 : 3} fresh processes, cache warm) ==`);
  const cold = runColdStartBench({ repeats: quick ? 1 : 3 });
  for (const [k, v] of Object.entries(cold)) all[`coldStart.${k}`] = v;
  log(
    `mlm train --max-steps 1: ${cold.trainMaxSteps1Ms.toFixed(0)} ms (CPU ${cold.trainMaxSteps1CpuMs.toFixed(0)} ms) | ` +
      `mlm fill: ${cold.fillMs.toFixed(0)} ms (CPU ${cold.fillCpuMs.toFixed(0)} ms, ts kernels), ` +
      `${cold.fillWasmMs.toFixed(0)} ms (CPU ${cold.fillWasmCpuMs.toFixed(0)} ms, --backend wasm)`,
  );

  log(
    `\n== fine-tuning and inference (spam subjects, the tutorial's model shape, batches of 64, ${threads} threads) ==`,
  );
  const ft = await runFinetuneBench({ threads, quick });
  for (const [k, v] of Object.entries(ft)) all[`finetune.${k}`] = v;
  log(
    `fine-tuning step ${ft.finetuneStepMs.toFixed(1)} ms vs masked-LM step ${ft.mlmStepMs.toFixed(1)} ms of the same ` +
      `sentences (ratio ${ft.finetuneOverMlm.toFixed(2)}, paired ${ft.finetuneOverMlmPaired.toFixed(2)}, target <= 1); classify ${ft.classifySentencesPerSec.toFixed(0)} ` +
      `sentences/s, embed ${ft.embedSentencesPerSec.toFixed(0)} sentences/s; ONNX Runtime Web on the same model and ` +
      `threads: classify ${ft.onnxClassifySentencesPerSec.toFixed(0)}, embed ${ft.onnxEmbedSentencesPerSec.toFixed(0)} sentences/s ` +
      `(mlm-ts computing the padding too: classify ${ft.classifyPaddedSentencesPerSec.toFixed(0)})`,
  );

  log(`\n== where a training step's time goes (default.wasm; kernel time in its category, per phase) ==`);
  for (const line of breakdownTable(all, "default.wasm.")) log(line);

  log(
    `\n== training in a browser tab (headless Chromium, page web/train) vs Node, the same run, ${threads} threads ==`,
  );
  const b = await runBrowserBench({ steps: quick ? 30 : 100, threads });
  for (const [k, v] of Object.entries(b)) all[`browser.${k}`] = v;
  log(
    `median ms per step: browser ${b.browserMsPerStepMedian.toFixed(1)}, Node ${b.nodeMsPerStepMedian.toFixed(1)}: ` +
      `ratio ${b.browserOverNode.toFixed(2)} (target <= 1.5)`,
  );

  log(`\n== WebGPU (headless Chromium on this machine's GPU) beside WebAssembly (Node, ${threads} threads) ==`);
  const g = await runWebGpuBench({ steps: quick ? 10 : 30, threads });
  all["webgpu.wasmMsPerStep"] = g.wasmMsPerStep;
  if (g.webgpuMsPerStep === null)
    log(`wasm ${g.wasmMsPerStep.toFixed(1)} ms/step; WebGPU not measured: ${g.webgpuUnavailable}`);
  else {
    all["webgpu.webgpuMsPerStep"] = g.webgpuMsPerStep;
    log(
      `median ms per step of the tutorial's model: WebGPU ${g.webgpuMsPerStep.toFixed(1)} (${g.webgpuAdapter}), ` +
        `wasm ${g.wasmMsPerStep.toFixed(1)}: ${(g.wasmMsPerStep / g.webgpuMsPerStep).toFixed(2)}x; ` +
        `losses within ${g.lossRelativeDifference!.toExponential(1)} relative`,
    );
  }

  if (!quick) {
    log(`\n== the tutorial's whole schedule (30 epochs, evaluation every 500 steps), default configuration ==`);
    const s = trainChild(["--schedule", "--backend", "wasm", "--threads", String(threads)]);
    log(
      `${s.scheduleSteps} steps in ${Number(s.scheduleWallSeconds).toFixed(1)} s (best validation loss ` +
        `${Number(s.scheduleBestValidLoss).toFixed(4)}, peak ${Number(s.schedulePeakRssMiB).toFixed(0)} MiB)`,
    );
    for (const [k, v] of Object.entries(s)) if (typeof v === "number") all[k] = v;

    log(`\n== tokenizer (ours vs Hugging Face tokenizers) ==`);
    const t = await runTokenizerBench({ quick });
    for (const [k, v] of Object.entries(t)) all[`tokenizer.${k}`] = v;
    const rate = (k: string): string => `${(t[`${k}_sentences_per_s`] / 1000).toFixed(0)}k sentences/s`;
    log(
      `training: ours ${t.train_ours_seconds.toFixed(3)} s (${rate("train_ours")}), Rust ` +
        `${t.train_rust_seconds.toFixed(3)} s (${rate("train_rust")}): ratio ` +
        `${t.train_ratio_ours_over_rust.toFixed(2)} (target <= 1.5)`,
    );
    log(
      `encoding: ours ${t.encode_ours_seconds.toFixed(3)} s (${rate("encode_ours")}), ids only ` +
        `${t.encodeids_ours_seconds.toFixed(3)} s, Rust encodeBatch ${t.encode_rust_seconds.toFixed(3)} s ` +
        `(${rate("encode_rust")}): ratio ${t.encode_ratio_ours_over_rust.toFixed(2)} (target <= 1)`,
    );
    log(
      `peak memory: ours ${t.train_ours_peak_mib.toFixed(0)} / ${t.encode_ours_peak_mib.toFixed(0)} MiB, Rust ` +
        `${t.train_rust_peak_mib.toFixed(0)} / ${t.encode_rust_peak_mib.toFixed(0)} MiB (training / encoding)`,
    );
  }
  // A generated corpus of --corpus-mb MB (default 2048; 100 with --quick), made in a temporary folder and removed after.
  const corpusMb = Number(values["corpus-mb"] ?? (quick ? 100 : 2048));
  log(`\n== a ${corpusMb} MB generated corpus: streamed into the token cache, then trained on from it ==`);
  Object.assign(all, runCorpusBench({ mb: corpusMb, steps: 100, compareSteps: quick ? 10 : COMPARE_STEPS, log }));

  log(`\n== mlm studio page: 20 runs of 10,000 points each, all plotted, in headless Chromium ==`);
  const st = await runStudioBench();
  for (const [k, v] of Object.entries(st)) all[`studio.${k}`] = v;
  log(
    `first render ${st.firstRenderMs.toFixed(0)} ms (median of ${st.loads} page loads, ${st.firstRenderMinMs.toFixed(0)}-` +
      `${st.firstRenderMaxMs.toFixed(0)}; target < 2000; run ids at ${st.infoMs.toFixed(0)} ms, the runs' ` +
      `curves at ${st.curvesMs.toFixed(0)} ms, streams replayed at ${st.replayedMs.toFixed(0)} ms, taking them in ` +
      `${st.parseMs.toFixed(0)} ms, drawing ${st.renderMs.toFixed(0)} ms; runs table filled at ${st.listedMs.toFixed(0)} ms), ` +
      `renderer JS heap ${st.heapMiB.toFixed(0)} MiB ` +
      `used / ${st.heapTotalMiB.toFixed(0)} MiB allocated (target < 200), ${st.points} points drawn`,
  );
  process.stdout.write(JSON.stringify(all) + "\n");
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
