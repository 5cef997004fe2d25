// The parts of the WebGPU backend that run without a GPU: the arrays' CPU copies report every fill and
// set (the ranges a subarray covers, negative indices counted from the end) so that the backend can
// repeat them on the GPU in order, derived arrays other than subarrays are plain Float32Arrays that
// belong to no backend, and opening a device where there is no navigator.gpu (Node) asks the platform
// and says why there is none (Node's platform: test/cli/train-webgpu.test.ts).
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { openWebGpu, WebGpuUnavailableError } from "../../src/engine/webgpu/device.js";
import { GpuArray, newGpuArray, ownerOf, type GpuArrayOwner } from "../../src/engine/webgpu/gpu-array.js";
import { nodePlatform, setPlatform } from "../../src/platform/index.js";

/** An owner that records what it is told, as [kind, first element in the allocation, end, value]. */
function recorder(): { owner: GpuArrayOwner; log: (string | number)[][] } {
  const log: (string | number)[][] = [];
  const at = (view: GpuArray, i: number): number => view.byteOffset / 4 + i;
  return {
    log,
    owner: {
      filled: (view, start, end, value) => log.push(["fill", at(view, start), at(view, end), value]),
      written: (view, start, end) => log.push(["set", at(view, start), at(view, end)]),
    },
  };
}

test("a GpuArray reports fills and sets of itself and of its subarrays, in its allocation's elements", () => {
  const { owner, log } = recorder();
  const a = newGpuArray(owner, 10);
  a.fill(0.1);
  a.fill(2, 3, -2);
  const sub = a.subarray(4, 9);
  assert.ok(sub instanceof GpuArray);
  assert.equal(ownerOf(sub), owner);
  sub.fill(-1, 1, 3);
  sub.set([7, 8], 3);
  sub.subarray(-2).fill(5);
  assert.deepEqual(log, [
    ["fill", 0, 10, Math.fround(0.1)],
    ["fill", 3, 8, 2],
    ["fill", 5, 7, -1],
    ["set", 7, 9],
    ["fill", 7, 9, 5],
  ]);
  assert.deepEqual(Array.from(a), [0.1, 0.1, 0.1, 2, 2, -1, -1, 5, 5, 0.1].map(Math.fround));
});

test("empty fills and sets report nothing; slices and maps are plain arrays of no backend", () => {
  const { owner, log } = recorder();
  const a = newGpuArray(owner, 4);
  a.fill(1, 3, 3);
  a.set([]);
  a.subarray(2, 1).fill(3);
  assert.deepEqual(log, []);
  const copy = a.slice(1);
  assert.equal(copy.constructor, Float32Array);
  assert.equal(ownerOf(copy), undefined);
  assert.equal(ownerOf(new Float32Array(4)), undefined);
  assert.equal(a.map((x) => x + 1).constructor, Float32Array);
});

test("openWebGpu without navigator.gpu asks the platform, and throws its reason as a WebGpuUnavailableError", async () => {
  const reason = "this platform has no WebGPU (a test's)";
  setPlatform({ ...nodePlatform, webGpu: () => Promise.resolve({ reason }) });
  try {
    await assert.rejects(openWebGpu(), (err: unknown) => {
      assert.ok(err instanceof WebGpuUnavailableError);
      assert.equal(err.message, reason);
      return true;
    });
  } finally {
    setPlatform(nodePlatform);
  }
});
