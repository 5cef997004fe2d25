// The kernel bench's dX figure is a difference of two timings (matmulBackward with and without dX);
// under the load of other processes it printed "NaN GFLOP/s". It must stay positive and near the
// true extra work while the machine's speed changes under it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { extraMs } from "../../bench/kernels.js";

test("extraMs finds the extra work while a neighbour takes the CPU in windows", () => {
  // A neighbour process busy in every other 20 ms window of wall time, where work runs 3x slower.
  const start = performance.now();
  const work = (ms: number): void => {
    let done = 0;
    let t = performance.now();
    while (done < ms) {
      const now = performance.now();
      done += (now - t) / (Math.floor((now - start) / 20) % 2 === 0 ? 3 : 1);
      t = now;
    }
  };
  const extra = extraMs(
    () => work(1),
    () => work(2),
    5,
  );
  assert.ok(extra > 0.6 && extra < 2, `extra ${extra} ms per call, expected about 1 ms`);
});
