// The run's health checks on hand-made tensors: which tensor a non-finite step is blamed on, the
// finite-weights check of checkpoints, and the divergence warning's threshold and single firing.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ParamSpec } from "../../src/model/index.js";
import { checkFiniteParams, diagnoseNonFinite, NonFiniteError, observeLoss } from "../../src/train/health.js";

/** Three tensors in layout order: embed [2 x 2], layers.0.w [4], head.out.weight [2 x 2]. */
const specs: ParamSpec[] = [
  { name: "embed.weight", shape: [2, 2], offset: 0, size: 4, decay: true, init: "normal", std: 1 },
  { name: "layers.0.w", shape: [4], offset: 16, size: 4, decay: false, init: "zeros", std: 0 },
  { name: "head.out.weight", shape: [2, 2], offset: 32, size: 4, decay: true, init: "normal", std: 0.7 },
];
const buffer = (): Float32Array => new Float32Array(48).fill(0.5);

test("a non-finite step is blamed on the first bad parameter, else the loss, else the first gradient backpropagation computes", () => {
  const params = buffer();
  const grads = buffer();
  grads[16 + 2] = Number.NaN; // layers.0.w
  grads[32 + 1] = Infinity; // head.out.weight: computed first by backpropagation
  let e = diagnoseNonFinite(7, 2.5, Number.NaN, specs, params, grads);
  assert.ok(e instanceof NonFiniteError);
  assert.equal(e.step, 7);
  assert.equal(e.tensor, "gradient of head.out.weight");
  assert.match(e.message, /^step 7: the gradient of head\.out\.weight holds Infinity \(index 1 of \[2 x 2\]\)/);

  grads[32 + 1] = 0.5;
  e = diagnoseNonFinite(7, 2.5, Number.NaN, specs, params, grads);
  assert.equal(e.tensor, "gradient of layers.0.w");

  params[3] = 8;
  e = diagnoseNonFinite(7, Number.NaN, null, specs, params, grads);
  assert.equal(e.tensor, null);
  assert.match(
    e.message,
    /^step 7: the training loss is NaN while every parameter is finite \(the largest, \|w\| = 8\.00e\+0, in embed\.weight\)/,
  );

  params[16] = -Infinity;
  e = diagnoseNonFinite(7, Number.NaN, null, specs, params, grads);
  assert.equal(e.tensor, "parameter layers.0.w");
  assert.match(e.message, /^step 7: parameter layers\.0\.w holds -Infinity \(index 0 of \[4\]\)/);

  // Finite gradients whose squares overflow float32: the largest one is named.
  const huge = buffer();
  huge[4 + 0] = 3e38;
  huge[16 + 3] = 3e38;
  e = diagnoseNonFinite(9, 1, Infinity, specs, buffer(), huge);
  assert.equal(e.tensor, "gradient of layers.0.w");
  assert.match(e.message, /^step 9: the gradient norm is Infinity although every gradient is finite/);
});

test("a checkpoint's weights are checked: the first non-finite parameter is named", () => {
  const params = buffer();
  checkFiniteParams(3, specs, params);
  params[32 + 3] = Number.NaN;
  params[16 + 1] = Infinity;
  assert.throws(
    () => checkFiniteParams(3, specs, params),
    /^NonFiniteError: step 3: parameter layers\.0\.w holds Infinity \(index 1 of \[4\]\); no checkpoint is written with it$/,
  );
});

test("the divergence warning fires once, when the smoothed loss passes 1.5 x the first step's loss", () => {
  const watch = { firstLoss: null as number | null, smoothedLoss: 0, warned: false };
  assert.equal(observeLoss(watch, 1, 4), null);
  // Noise around the start and a slow rise below 6 never warn.
  for (let step = 2; step < 200; step++) assert.equal(observeLoss(watch, step, step % 2 === 0 ? 5.9 : 5.5), null);
  let warnings = 0;
  let first = "";
  for (let step = 200; step < 300; step++) {
    const w = observeLoss(watch, step, 9);
    if (w !== null) {
      warnings++;
      first = w;
    }
  }
  assert.equal(warnings, 1);
  assert.match(
    first,
    /^step 2\d\d: the smoothed training loss 6\.0\d* is above 1\.5 x the first step's loss 4\.000: the run is diverging/,
  );
});
