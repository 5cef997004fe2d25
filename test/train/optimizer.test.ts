// Clipping + Adam against values worked out by hand (optax semantics).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { Adam } from "../../src/train/optimizer.js";

const be = new TsBackend();
const f32 = (xs: number[]): Float32Array => {
  const a = be.alloc(xs.length);
  a.set(xs);
  return a;
};
const near = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("clipping active: grads [3, 4] (norm 5) are scaled to [0.6, 0.8]; three Adam steps", () => {
  const p = f32([1, -2]);
  const opt = new Adam(be, 2); // maxGradNorm 1
  const r1 = opt.update(p, f32([3, 4]), 0.1);
  near(r1.gradNorm, 5, 1e-12, "norm");
  near(r1.clipScale, 0.2, 1e-12, "scale");
  // step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2 -> update = g / (|g| + 1e-8) ~ sign(g)
  near(opt.m[0], 0.06, 1e-8, "m0");
  near(opt.v[1], 0.00064, 1e-10, "v1");
  near(p[0], 1 - 0.1, 1e-6, "p0 after 1");
  near(p[1], -2 - 0.1, 1e-6, "p1 after 1");
  // step 2: grads [0.3, 0] (norm 0.3, no clipping)
  const r2 = opt.update(p, f32([0.3, 0]), 0.1);
  near(r2.clipScale, 1, 0, "no clip");
  // m0 = 0.9*0.06 + 0.1*0.3 = 0.084; v0 = 0.999*0.00036 + 0.001*0.09 = 0.00044964
  // mhat = 0.084 / 0.19 = 0.442105...; vhat = 0.00044964 / 0.001999 = 0.224932...
  // update0 = 0.442105 / 0.474270 = 0.932180; p0 = 0.9 - 0.0932180 = 0.806782
  near(opt.m[0], 0.084, 1e-8, "m0 step 2");
  near(opt.v[0], 0.00044964, 1e-10, "v0 step 2");
  near(p[0], 0.806782, 2e-6, "p0 after 2");
  // second coordinate: m1 = 0.9*0.08 = 0.072, v1 = 0.999*0.00064 = 0.00063936
  // mhat = 0.378947, vhat = 0.319840, sqrt = 0.565544 -> update 0.670057; p1 = -2.1 - 0.0670057
  near(p[1], -2.1670057, 2e-6, "p1 after 2");
  // step 3: norm exactly at the threshold is not clipped (scale only when norm > maxNorm)
  const r3 = opt.update(p, f32([0, -1]), 0.1);
  assert.equal(r3.gradNorm, 1);
  assert.equal(r3.clipScale, 1);
  assert.equal(opt.step, 3);
});

test("clipping inactive and disabled give plain Adam; weight decay only on masked entries", () => {
  const p = f32([0.5, 0.5, 0.5]);
  const opt = new Adam(be, 3, { maxGradNorm: Infinity, weightDecay: 0.1, decayMask: new Uint8Array([1, 0, 1]) });
  const r = opt.update(p, f32([10, 10, -10]), 0.01);
  near(r.gradNorm, Math.sqrt(300), 1e-9, "norm");
  assert.equal(r.clipScale, 1);
  // update = sign(g) + 0.1 * p (decayed entries), times lr
  near(p[0], 0.5 - 0.01 * (1 + 0.05), 1e-6, "decayed +");
  near(p[1], 0.5 - 0.01 * 1, 1e-6, "not decayed");
  near(p[2], 0.5 - 0.01 * (-1 + 0.05), 1e-6, "decayed -");
  assert.throws(() => new Adam(be, 3, { weightDecay: 0.1 }), /decayMask/);
});

test("state round trip continues identically; NaN gradients are refused", () => {
  const p1 = f32([1, 2, 3]),
    p2 = f32([1, 2, 3]);
  const a = new Adam(be, 3);
  a.update(p1, f32([0.1, -0.2, 0.3]), 0.05);
  const b = new Adam(be, 3);
  b.setState({ step: a.step, m: Float32Array.from(a.m), v: Float32Array.from(a.v) });
  p2.set(p1);
  a.update(p1, f32([0.5, 0.5, -0.1]), 0.05);
  b.update(p2, f32([0.5, 0.5, -0.1]), 0.05);
  assert.deepEqual(Array.from(p1), Array.from(p2));
  assert.throws(() => a.update(p1, f32([NaN, 0, 0]), 0.1), /NaN or infinite/);
});
