/**
 * What the training loop writes as it goes, besides checkpoints: metrics.jsonl, the TensorBoard
 * event file, curves.svg, log lines and warnings. The loop calls one method per event (a training
 * log, an evaluation, a warning); what goes where is decided here alone.
 *
 * @example
 *   const outputs = await RunOutputs.open(run, { log, warn });
 *   outputs.trainingLog(step, { loss: 2.3, steps: 20, learningRate: 3e-4, gradNorm: 0.9, epoch: 1, tokensPerSec: 5e3, paddedPerSec: 6e3 });
 *   await outputs.close();
 */
import type { MetricsLog, RunDirectory } from "../run/index.js";
import { SummaryWriter } from "../track/tensorboard.js";
import { writeCurvesSvg } from "../track/curves-svg.js";
import { stderrIsTerminal } from "../util/progress.js";

/** The figures of one training log: the mean loss since the previous one, and the step's own. */
export interface TrainingFigures {
  /** Mean training loss over the `steps` steps since the previous log. */
  loss: number;
  steps: number;
  learningRate: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** 1-based epoch of the step's last batch. */
  epoch: number;
  /** Real and padded tokens per second of training, over the session so far. */
  tokensPerSec: number;
  paddedPerSec: number;
}

/** metrics.jsonl, TensorBoard, curves.svg and the log of one training session. */
export class RunOutputs {
  private constructor(
    private readonly run: RunDirectory,
    private readonly metrics: MetricsLog,
    private readonly writer: SummaryWriter,
    /** Progress lines (stderr when config.progress). */
    readonly log: (line: string) => void,
    private readonly warnLine: (line: string) => void,
  ) {}

  /** Opens the run's metrics.jsonl (appending) and a new TensorBoard event file. */
  static async open(
    run: RunDirectory,
    lines: { log: (line: string) => void; warn: (line: string) => void },
  ): Promise<RunOutputs> {
    return new RunOutputs(run, await run.openMetrics(), await SummaryWriter.open(run.dir), lines.log, lines.warn);
  }

  /** A training log: TensorBoard scalars, a metrics.jsonl record, a line when stderr is not a terminal. */
  trainingLog(step: number, f: TrainingFigures): void {
    const { writer } = this;
    writer.addScalar("Loss/train", f.loss, step);
    writer.addScalar("LearningRate", f.learningRate, step);
    writer.addScalar("GradNorm", f.gradNorm, step);
    writer.addScalar("Throughput/tokens_per_sec", f.tokensPerSec, step);
    writer.addScalar("Throughput/padded_tokens_per_sec", f.paddedPerSec, step);
    // "lr" is metrics.jsonl's name for the learning rate (readers of older runs rely on it)
    const { loss, learningRate: lr, gradNorm, tokensPerSec, epoch } = f;
    this.metrics.log(step, { split: "train", loss, lr, gradNorm, tokensPerSec, epoch });
    if (!stderrIsTerminal())
      this.log(
        `step ${step}: training loss ${loss.toFixed(4)} (mean of the last ${f.steps} steps), lr ` +
          `${lr.toExponential(2)}, ${formatRate(tokensPerSec)} tokens/s`,
      );
  }

  /**
   * An evaluation: its TensorBoard scalars, a metrics.jsonl record of every metric, curves.svg redrawn,
   * and its line ("step N: validation <description> [ms since `startedAt`, a Date.now() time]").
   */
  async evaluation(
    step: number,
    metrics: object,
    scalars: [string, number][],
    description: string,
    startedAt: number,
  ): Promise<void> {
    for (const [tag, value] of scalars) this.writer.addScalar(tag, value, step);
    this.metrics.log(step, { split: "valid", ...(metrics as Record<string, number>) });
    await writeCurvesSvg(this.run.dir, this.run.storage); // curves.svg, the run's picture
    this.log(`step ${step}: validation ${description} [${Date.now() - startedAt} ms]`);
  }

  /** A warning (a diverging loss): its line, and a metrics.jsonl record of `kind`. */
  warn(step: number, kind: string, message: string): void {
    this.warnLine(`warning: ${message}`);
    this.metrics.log(step, { warning: kind, message });
  }

  /** Closes the TensorBoard and metrics files (what was logged stays on disk, also after an error). */
  async close(): Promise<void> {
    await this.writer.close();
    await this.metrics.close();
  }
}

/** 6123 -> "6.1k". */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}
