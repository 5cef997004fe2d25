/**
 * Where a training step's time goes, for `npm run bench`: a `Backend` wrapper that times every kernel
 * call into a category, and phase marks that the bench's step loop sets (data, forward, backward,
 * optimizer). Only the bench wraps its backend; training never does, so it pays nothing for this.
 *
 * Every instant between the first mark and the last lands in exactly one cell (phase x category):
 * a kernel call in its kernel's category, the time between kernel calls (TypeScript work in the
 * model and the optimizer: input checks, label lists, zeroing the gradients) in "outside kernels",
 * and the data phase (batch collation and masking, which calls no kernel) in "data". So the cells add
 * up to the step time the loop measures, less the loop's own bookkeeping (the "unaccounted" rest).
 *
 * The model runs forward and backward in one call (`forwardBackward`), so the two phases are told
 * apart by the kernels: a kernel that belongs to one pass (matmul: forward, matmulBackward: backward)
 * switches the phase to that pass; kernels that both passes call (dropout) leave it as it is.
 */
import type { Backend } from "../src/engine/backend.js";

/** The phases of a training step, in the order the step runs them. */
export const PHASES = ["data", "forward", "backward", "optimizer"] as const;
export type Phase = (typeof PHASES)[number];

/** Where time goes: the kernels' categories, the data phase, and the time between kernel calls. */
export const CATEGORIES = ["matmul", "attention", "elementwise", "loss", "optimizer", "data", "outside"] as const;
export type Category = (typeof CATEGORIES)[number];

/** Readable names of the categories, for the table. */
const CATEGORY_LABELS: Record<Category, string> = {
  matmul: "matrix products",
  attention: "attention",
  elementwise: "elementwise",
  loss: "loss",
  optimizer: "optimizer",
  data: "data",
  outside: "outside kernels",
};

/** The Backend members that compute (everything callable but memory management). */
type KernelName = Exclude<
  { [K in keyof Backend]: Backend[K] extends (...args: never[]) => unknown ? K : never }[keyof Backend],
  "alloc" | "allocInt" | "dispose"
>;

type Pass = "forward" | "backward";

/**
 * Each kernel's category and the pass it belongs to (null: called by both passes or by neither).
 * "elementwise" covers the memory-bound row and element kernels: layer norm, dropout, ReLU, the
 * GELU, the embedding lookup, row gathers and scatters, scaled accumulation.
 */
const KERNELS: Record<KernelName, readonly [Category, Pass | null]> = {
  matmul: ["matmul", "forward"],
  matmulBackward: ["matmul", "backward"],
  matmulTransposed: ["matmul", "forward"],
  attentionForward: ["attention", "forward"],
  attentionBackward: ["attention", "backward"],
  layerNormForward: ["elementwise", "forward"],
  layerNormBackward: ["elementwise", "backward"],
  embeddingForward: ["elementwise", "forward"],
  addDropout: ["elementwise", "forward"],
  reluDropout: ["elementwise", "forward"],
  reluBackward: ["elementwise", "backward"],
  gelu: ["elementwise", "forward"],
  geluBackward: ["elementwise", "backward"],
  gatherRows: ["elementwise", "forward"],
  scatterAddRows: ["elementwise", "backward"],
  dropout: ["elementwise", null],
  scaleAdd: ["elementwise", null],
  crossEntropy: ["loss", "forward"],
  sumSquares: ["optimizer", null],
  adamUpdate: ["optimizer", null],
};

const NONE = -1;
const FORWARD = PHASES.indexOf("forward");
const BACKWARD = PHASES.indexOf("backward");
const DATA_PHASE = PHASES.indexOf("data");
const DATA = CATEGORIES.indexOf("data");
const OUTSIDE = CATEGORIES.indexOf("outside");
const NC = CATEGORIES.length;

/**
 * Times the kernels of a backend by phase and category.
 *
 * @example
 *   const prof = new StepProfiler(await createBackend("wasm"));
 *   const model = new MlmModel(prof.backend, modelConfig, capacity); // the model calls the wrapper
 *   prof.enter("data");      const batch = nextBatch();
 *   prof.enter("forward");   model.forwardBackward(batch, opts);
 *   prof.enter("optimizer"); adam.update(model.params, model.grads, lr);
 *   prof.enter(null);
 *   prof.ms("backward", "matmul"); // ms spent in matmulBackward so far
 */
export class StepProfiler {
  /** The wrapped backend: hand it to the model and the optimizer. */
  readonly backend: Backend;
  /** ms per [phase][category], row-major. */
  private readonly cells = new Float64Array(PHASES.length * NC);
  private phase = NONE;
  /** When the last kernel call or phase mark ended (performance.now()). */
  private last = 0;
  /** Kernel calls made while a phase was marked. */
  calls = 0;

  constructor(private readonly inner: Backend) {
    const timed: Partial<Record<KernelName, unknown>> = {};
    for (const name of Object.keys(KERNELS) as KernelName[]) timed[name] = this.timedKernel(name);
    // Everything else (name, threads, alloc, dispose, members added later) is the inner backend's own.
    this.backend = new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (Object.hasOwn(timed, prop)) return timed[prop as KernelName];
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** From now on time goes to `phase` (null: stop recording until the next mark). */
  enter(phase: Phase | null): void {
    const now = performance.now();
    this.closeGap(now);
    this.phase = phase === null ? NONE : PHASES.indexOf(phase);
    this.last = now;
  }

  /** ms recorded in one cell. */
  ms(phase: Phase, category: Category): number {
    return this.cells[PHASES.indexOf(phase) * NC + CATEGORIES.indexOf(category)];
  }

  /** Forgets everything recorded (e.g. after the warm-up steps). */
  reset(): void {
    this.cells.fill(0);
    this.calls = 0;
  }

  /**
   * The breakdown as flat figures over `steps` steps whose loop-measured times add up to `stepMsSum`:
   * `profile.<phase>.<category>.ms` for the cells that got time, `profile.<phase>.total.ms|share`,
   * `profile.total.<category>.ms|share`, `profile.unaccounted.ms|share` (the loop's time that no cell
   * holds), `profile.stepMs` and `profile.callsPerStep`; ms are per step (means), shares of stepMs.
   */
  figures(steps: number, stepMsSum: number): Record<string, number> {
    const stepMs = stepMsSum / steps;
    const out: Record<string, number> = { "profile.steps": steps, "profile.stepMs": stepMs };
    const put = (key: string, ms: number, share: boolean): void => {
      out[`profile.${key}.ms`] = ms;
      if (share) out[`profile.${key}.share`] = ms / stepMs;
    };
    let recorded = 0;
    for (const phase of PHASES) {
      let phaseMs = 0;
      for (const category of CATEGORIES) {
        const ms = this.ms(phase, category) / steps;
        if (ms > 0) put(`${phase}.${category}`, ms, false);
        phaseMs += ms;
      }
      put(`${phase}.total`, phaseMs, true);
      recorded += phaseMs;
    }
    for (const category of CATEGORIES) {
      let ms = 0;
      for (const phase of PHASES) ms += this.ms(phase, category) / steps;
      put(`total.${category}`, ms, true);
    }
    put("unaccounted", stepMs - recorded, true);
    out["profile.callsPerStep"] = this.calls / steps;
    return out;
  }

  /** Time since the last call or mark goes to the current phase: "data" there, "outside kernels" elsewhere. */
  private closeGap(now: number): void {
    if (this.phase === NONE) return;
    this.cells[this.phase * NC + (this.phase === DATA_PHASE ? DATA : OUTSIDE)] += now - this.last;
  }

  private timedKernel(name: KernelName): (...args: unknown[]) => unknown {
    const kernel = this.inner[name] as (...args: unknown[]) => unknown;
    const [category, pass] = KERNELS[name];
    const c = CATEGORIES.indexOf(category);
    const p = pass === null ? NONE : PHASES.indexOf(pass);
    return (...args: unknown[]): unknown => {
      if (this.phase === NONE) return kernel.apply(this.inner, args);
      const t0 = performance.now();
      this.closeGap(t0);
      if (p !== NONE && (this.phase === FORWARD || this.phase === BACKWARD)) this.phase = p;
      const result = kernel.apply(this.inner, args);
      const t1 = performance.now();
      this.cells[this.phase * NC + c] += t1 - t0;
      this.last = t1;
      this.calls++;
      return result;
    };
  }
}

/**
 * The breakdown as a readable table (categories down, phases across, ms per step and share of the
 * step), from the figures of `StepProfiler.figures` (keys may carry a prefix, e.g. "default.wasm.").
 */
export function breakdownTable(figures: Record<string, number | string>, prefix = ""): string[] {
  const get = (key: string): number => {
    const v = figures[`${prefix}profile.${key}`];
    return typeof v === "number" ? v : 0;
  };
  const ms = (v: number): string => (v === 0 ? "-" : v.toFixed(1)).padStart(10);
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`.padStart(8);
  const lines = [
    `${"ms per step".padEnd(16)}${PHASES.map((p) => p.padStart(10)).join("")}${"total".padStart(10)}  share`,
  ];
  for (const category of CATEGORIES) {
    const cells = PHASES.map((p) => ms(get(`${p}.${category}.ms`))).join("");
    const total = get(`total.${category}.ms`);
    lines.push(`${CATEGORY_LABELS[category].padEnd(16)}${cells}${ms(total)}${pct(get(`total.${category}.share`))}`);
  }
  const phaseTotals = PHASES.map((p) => ms(get(`${p}.total.ms`))).join("");
  const recorded = PHASES.reduce((s, p) => s + get(`${p}.total.ms`), 0);
  lines.push(`${"phase total".padEnd(16)}${phaseTotals}${ms(recorded)}${pct(recorded / get("stepMs"))}`);
  lines.push(`${"phase share".padEnd(16)}${PHASES.map((p) => pct(get(`${p}.total.share`)).padStart(10)).join("")}`);
  lines.push(
    `${"unaccounted".padEnd(16)}${" ".repeat(10 * PHASES.length)}${ms(get("unaccounted.ms"))}${pct(get("unaccounted.share"))}` +
      `   (step ${get("stepMs").toFixed(1)} ms, mean of ${get("steps")} steps, ${get("callsPerStep").toFixed(0)} kernel calls per step)`,
  );
  return lines;
}
