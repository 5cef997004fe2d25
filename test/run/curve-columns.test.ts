// The curves as columns that the studio's server sends a page: golden bytes of a small block, a round
// trip that keeps every figure (float32 for figures, float64 for steps and times), gaps for missing
// and non-finite figures, lines that are not curve records left out, and malformed blocks refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CURVE_FIGURES,
  curveColumnsOfText,
  decodeCurveColumns,
  encodeCurveColumns,
  formatMetricsLine,
} from "../../src/run/index.js";

const lines = [
  formatMetricsLine({ step: 0, split: "valid", loss: 9.5, perplexity: 13359.7, accuracy: 0, top5: 0.01, time: 1000 }),
  formatMetricsLine({
    step: 10,
    split: "train",
    loss: 8.25,
    lr: 3e-4,
    gradNorm: 1.5,
    tokensPerSec: 9000,
    time: 1010.5,
  }),
  formatMetricsLine({ step: 20, warning: "divergence", message: "the loss rose", time: 1020 }),
  formatMetricsLine({ step: 20, split: "train", loss: Number.NaN, lr: 3e-4, time: 1020.25 }),
].join("");

test("a block holds the curve records as columns: golden header and layout, figures kept, gaps as NaN", () => {
  const columns = curveColumnsOfText(lines);
  assert.equal(columns.offset, Buffer.byteLength(lines));
  const bytes = encodeCurveColumns(columns);
  const header = `{"offset":${columns.offset},"rows":{"train":2,"valid":1}}`;
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), header.length);
  assert.equal(Buffer.from(bytes.subarray(4, 4 + header.length)).toString(), header);
  const start = Math.ceil((4 + header.length) / 8) * 8;
  // float64: train step, train time, valid step, valid time; then float32: 4 train and 5 valid figures
  assert.equal(bytes.length, start + 8 * (2 + 2 + 1 + 1) + 4 * (2 * 4 + 1 * 5));
  assert.deepEqual([...new Float64Array(bytes.slice(start, start + 48).buffer)], [10, 20, 1010.5, 1020.25, 0, 1000]);

  const back = decodeCurveColumns(bytes);
  assert.equal(back.offset, columns.offset);
  assert.deepEqual([...back.train.step], [10, 20]);
  assert.deepEqual([...back.train.time], [1010.5, 1020.25]);
  assert.deepEqual([...back.train.figures.loss], [8.25, Number.NaN]);
  assert.deepEqual([...back.train.figures.lr], [Math.fround(3e-4), Math.fround(3e-4)]);
  assert.deepEqual([...back.train.figures.gradNorm], [1.5, Number.NaN], "missing figures are gaps");
  assert.deepEqual([...back.valid.step], [0]);
  assert.deepEqual(
    CURVE_FIGURES.valid.map((f) => back.valid.figures[f][0]),
    [9.5, Math.fround(13359.7), 0, Math.fround(0.01), Number.NaN], // no macro-F1: not a classifier's evaluation
  );
});

test("a block decodes from any byte position, and a bad line costs only itself", () => {
  const text = lines + "{not json}\n" + formatMetricsLine({ step: 30, split: "train", loss: 7, time: 1030 });
  const bytes = encodeCurveColumns(curveColumnsOfText(text));
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3); // not 8-byte aligned: the decoder copies
  const back = decodeCurveColumns(shifted.subarray(3));
  assert.deepEqual([...back.train.step], [10, 20, 30]);
  const aligned = new Uint8Array(bytes.length + 8);
  aligned.set(bytes, 8); // 8-byte aligned at an offset: viewed in place
  assert.deepEqual([...decodeCurveColumns(aligned.subarray(8)).train.figures.loss], [8.25, Number.NaN, 7]);
  assert.deepEqual([...decodeCurveColumns(encodeCurveColumns(curveColumnsOfText("", 0))).valid.step], []);
});

test("malformed blocks are refused with what is wrong", () => {
  const good = encodeCurveColumns(curveColumnsOfText(lines));
  assert.throws(() => decodeCurveColumns(new Uint8Array(2)), /curve columns: 2 bytes, expected a header/);
  assert.throws(() => decodeCurveColumns(good.subarray(0, good.length - 4)), /too few for 2 \+ 1 rows/);
  const extra = new Uint8Array(good.length + 8);
  extra.set(good);
  assert.throws(() => decodeCurveColumns(extra), /8 bytes left over/);
  const badHeader = good.slice();
  badHeader[4] = 0x21; // "!" instead of "{"
  assert.throws(() => decodeCurveColumns(badHeader), /the header is not JSON/);
});
