// Encoder block and head backward against central differences of their float32 forward
// (step 1e-3, loss = sum(output * g) in float64), dropout included with a replayed mask, for every
// variant: post- and pre-norm, ReLU and GELU, a dropout rate per place, a tied output layer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import {
  BlockActivations,
  blockBackward,
  blockForward,
  blockOutput,
  BlockScratch,
  blockTensors,
  type BlockTensors,
  type DropoutCtx,
} from "../../src/model/block.js";
import { dropoutRates, modelConfigOf } from "../../src/model/config.js";
import { HeadActivations, headBackward, headForward, headLoss, headTensors } from "../../src/model/head.js";
import { initParams, paramLayout } from "../../src/model/params.js";
import { randomArray } from "../engine/reference.js";

const be = new TsBackend();
const H_STEP = 1e-3;

/** Checks analytic gradients `grad[i]` against central differences of `loss` wrt `x[i]` at `indices`. */
function checkFd(what: string, loss: () => number, x: Float32Array, grad: Float32Array, indices: number[]): void {
  for (const i of indices) {
    const old = x[i];
    x[i] = old + H_STEP;
    const lp = loss();
    x[i] = old - H_STEP;
    const lm = loss();
    x[i] = old;
    const num = (lp - lm) / (2 * H_STEP);
    const tol = 3e-4 + 2e-2 * Math.abs(num);
    assert.ok(Math.abs(num - grad[i]) <= tol, `${what}[${i}]: analytic ${grad[i]}, numeric ${num}`);
  }
}

/** A few spread-out indices of an n-element tensor. */
const sample = (n: number, k = 4): number[] =>
  Array.from({ length: Math.min(k, n) }, (_, j) => Math.floor(((j + 0.5) * n) / Math.min(k, n)));

/** Every block variant: norm placement x activation x dropout (none, one rate, a rate per place). */
const BLOCK_CASES = (["post", "pre"] as const).flatMap((norm) =>
  (["relu", "gelu"] as const).flatMap((activation) => [
    { norm, activation, dropout: 0 },
    { norm, activation, dropout: 0.2 },
    { norm, activation, dropout: 0.2, dropoutAttention: 0, dropoutHidden: 0.3, dropoutResidual: 0.1 },
  ]),
);

for (const options of BLOCK_CASES) {
  test(`encoder block backward matches finite differences (${JSON.stringify(options)}, padded keys)`, () => {
    const cfg = modelConfigOf({ vocabSize: 11, dModel: 8, numLayers: 1, numHeads: 2, dFF: 12, maxLen: 8, ...options });
    const dropout = options.dropout;
    const { specs, total } = paramLayout(cfg);
    const params = be.alloc(total),
      grads = be.alloc(total);
    initParams(specs, params, new Rng(3));
    // perturb LN scales/offsets and biases away from 1/0 so their gradients are exercised fully
    params.forEach((v, i) => (params[i] = v + 0.1 * Math.sin(i)));
    const p = blockTensors(specs, params, 0),
      g = blockTensors(specs, grads, 0);
    const T = 9,
      C = cfg.dModel;
    const seqs = be.allocInt(9);
    seqs.set([0, 4, 4, 4, 3, 2, 7, 2, 2]); // one sequence with a padded key
    const rows = { T, seqs, numSeqs: 3 };
    const a = new BlockActivations(be, T, T * T * cfg.numHeads, C, cfg.dFF, cfg.activation === "gelu");
    const s = new BlockScratch(be, T, C, cfg.dFF);
    const x = be.alloc(T * C);
    x.set(randomArray(T * C, 4));
    const gout = Float64Array.from(randomArray(T * C, 5));
    const rates = dropoutRates(cfg);
    const drop = (): DropoutCtx | null => (dropout > 0 ? { p: rates, rng: new Rng(9) } : null);
    const loss = (): number => {
      blockForward(be, cfg, p, a, s, x, rows, drop());
      const out = blockOutput(cfg, a);
      let sum = 0;
      for (let i = 0; i < T * C; i++) sum += out[i] * gout[i];
      return sum;
    };
    loss();
    const dout = be.alloc(T * C);
    dout.set(gout);
    const dx = be.alloc(T * C);
    blockBackward(be, cfg, p, g, a, s, x, dout, dx, rows, dropout > 0 ? rates : null);
    checkFd(
      "dx",
      loss,
      x,
      dx,
      Array.from({ length: T * C }, (_, i) => i),
    );
    for (const key of Object.keys(p) as (keyof BlockTensors)[]) {
      if (key === "kB") continue; // a key bias shifts all scores of a query equally: zero gradient
      checkFd(key, loss, p[key], g[key], sample(p[key].length));
    }
    for (const v of g.kB) assert.ok(Math.abs(v) < 1e-6);
  });
}

for (const options of [
  { activation: "relu", tieOutput: false },
  { activation: "gelu", tieOutput: false },
  { activation: "relu", tieOutput: true },
  { activation: "gelu", tieOutput: true },
] as const)
  test(`head backward (dense, activation, layer norm, output, cross-entropy) matches finite differences (${JSON.stringify(options)})`, () => {
    const cfg = modelConfigOf({ vocabSize: 13, dModel: 8, numLayers: 1, numHeads: 2, dFF: 12, maxLen: 8, ...options });
    const { specs, total } = paramLayout(cfg);
    const params = be.alloc(total),
      grads = be.alloc(total);
    initParams(specs, params, new Rng(4));
    params.forEach((v, i) => (params[i] = v + 0.1 * Math.cos(i)));
    const p = headTensors(specs, params, cfg.tieOutput),
      g = headTensors(specs, grads, cfg.tieOutput);
    const R = 5,
      C = cfg.dModel;
    const a = new HeadActivations(be, R, cfg);
    a.labels.set([3, -100, 12, 0, 7]);
    const x = be.alloc(R * C);
    x.set(randomArray(R * C, 6, 2));
    const loss = (): number => {
      headForward(be, cfg, p, a, x, R);
      return headLoss(be, cfg, a, R, null) / 4;
    };
    loss();
    headLoss(be, cfg, a, R, 1 / 4);
    const dx = be.alloc(R * C);
    headBackward(be, cfg, p, g, a, x, dx, R);
    checkFd(
      "dx",
      loss,
      x,
      dx,
      Array.from({ length: R * C }, (_, i) => i),
    );
    for (let c = 0; c < C; c++) assert.equal(dx[1 * C + c], 0); // the unlabelled row gets nothing
    for (const key of Object.keys(p) as (keyof typeof p)[])
      checkFd(key, loss, p[key], g[key], sample(p[key].length, 6));
  });
