// The bench's step profiler: every kernel timed into its category, forward and backward told apart by
// the kernels, results unchanged by the wrapper, and the cells adding up to the marked time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TsBackend } from "../../src/engine/ts-backend.js";
import type { Backend } from "../../src/engine/backend.js";
import { breakdownTable, CATEGORIES, PHASES, StepProfiler } from "../../bench/profile.js";

/** Busy-waits `ms` milliseconds (a stand-in for work between kernel calls). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Sum of every cell of the profiler. */
function recorded(prof: StepProfiler): number {
  let s = 0;
  for (const p of PHASES) for (const c of CATEGORIES) s += prof.ms(p, c);
  return s;
}

test("every kernel of the backend is timed, and results pass through unchanged", () => {
  const inner = new TsBackend();
  const prof = new StepProfiler(inner);
  const be = prof.backend;
  assert.equal(be.name, inner.name);
  assert.equal(be.threads, inner.threads);
  const x = be.alloc(6);
  x.set([1, -2, 3, -4, 5, -6]);
  prof.enter("forward");
  assert.equal(be.sumSquares(x, 6), inner.sumSquares(x, 6));
  // Every callable member but memory management goes through a timer (a new kernel must get a category).
  const proto = Object.getPrototypeOf(inner) as object;
  const kernels = Object.getOwnPropertyNames(proto).filter(
    (k) =>
      !["constructor", "alloc", "allocInt", "dispose"].includes(k) && typeof inner[k as keyof Backend] === "function",
  );
  assert.ok(kernels.length >= 17, `found only ${kernels.length} kernels`);
  for (const k of kernels) assert.notEqual(be[k as keyof Backend], inner[k as keyof Backend], `${k} is not timed`);
  prof.enter(null);
  assert.equal(prof.calls, 1);
});

test("forward and backward are told apart by the kernels; the data phase's time is data", () => {
  const prof = new StepProfiler(new TsBackend());
  const be = prof.backend;
  const T = 4,
    K = 3,
    N = 2;
  const x = be.alloc(T * K),
    w = be.alloc(K * N),
    y = be.alloc(T * N),
    dx = be.alloc(T * K),
    dw = be.alloc(K * N);
  const before = performance.now();
  prof.enter("data");
  spin(3);
  prof.enter("forward");
  be.matmul(y, x, w, null, T, K, N);
  spin(3); // between kernels: the forward's time outside kernels
  be.matmulBackward(dx, dw, null, y, x, w, T, K, N); // switches to backward
  be.dropout(dx, dx, T * K, 0.1, 7); // both passes call it: stays in backward
  spin(3);
  be.matmul(y, x, w, null, T, K, N); // back to forward (a second head chunk)
  prof.enter("optimizer");
  be.matmul(y, x, w, null, T, K, N); // the optimizer phase is the loop's to set, not the kernels'
  prof.enter(null);
  const after = performance.now();
  be.matmul(y, x, w, null, T, K, N); // unmarked: not recorded

  assert.ok(prof.ms("data", "data") >= 3);
  assert.ok(prof.ms("forward", "outside") >= 3);
  assert.ok(prof.ms("backward", "outside") >= 3);
  assert.ok(prof.ms("forward", "matmul") > 0);
  assert.ok(prof.ms("backward", "matmul") > 0);
  assert.ok(prof.ms("backward", "elementwise") > 0);
  assert.equal(prof.ms("forward", "elementwise"), 0);
  assert.ok(prof.ms("optimizer", "matmul") > 0);
  assert.equal(prof.calls, 5);
  // Every instant between the first mark and the last is in exactly one cell.
  const sum = recorded(prof);
  assert.ok(sum <= after - before + 1e-9, `${sum} ms recorded in ${after - before} ms`);
  assert.ok(sum >= 9, `${sum} ms recorded, at least 9 ms were spun`);
});

test("figures are per step, shares of the step, and the rest is unaccounted; reset forgets", () => {
  const prof = new StepProfiler(new TsBackend());
  const be = prof.backend;
  const x = be.alloc(8);
  prof.enter("data");
  spin(2);
  prof.enter("forward");
  be.reluDropout(x, 8, 0, 0);
  prof.enter(null);
  const total = recorded(prof);
  // two steps whose loop-measured times add up to the recorded time plus 4 ms of loop bookkeeping
  const f = prof.figures(2, total + 4);
  assert.equal(f["profile.stepMs"], total / 2 + 2);
  assert.ok(Math.abs(f["profile.unaccounted.ms"] - 2) < 1e-9);
  const phases = PHASES.reduce((s, p) => s + f[`profile.${p}.total.ms`], 0);
  const categories = CATEGORIES.reduce((s, c) => s + f[`profile.total.${c}.ms`], 0);
  assert.ok(Math.abs(phases - total / 2) < 1e-9 && Math.abs(categories - total / 2) < 1e-9);
  assert.ok(Math.abs(f["profile.data.total.share"] - f["profile.data.total.ms"] / f["profile.stepMs"]) < 1e-12);
  assert.equal(f["profile.callsPerStep"], 0.5);
  assert.equal(f["profile.backward.matmul.ms"], undefined, "empty cells are left out");
  const table = breakdownTable(f);
  assert.match(table.join("\n"), /unaccounted\s+2\.0\s+/);
  assert.equal(table.length, 1 + CATEGORIES.length + 3);
  prof.reset();
  assert.equal(recorded(prof), 0);
  assert.equal(prof.calls, 0);
});
