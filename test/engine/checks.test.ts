// The argument checks that every backend shares (src/engine/checks.ts): the TypeScript reference and
// the WebAssembly backend refuse each bad call of bad-calls.ts with the same message (WebGPU's:
// test/browser/webgpu-kernels.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createWasmBackend } from "../../src/engine/wasm/wasm-backend.js";
import { BAD_CALLS } from "./bad-calls.js";

test("the TypeScript and WebAssembly backends refuse the same bad calls with the same messages", async () => {
  const wasm = await createWasmBackend({ threads: 1 });
  try {
    for (const be of [new TsBackend(), wasm])
      for (const bad of BAD_CALLS) assert.throws(() => bad.call(be), { message: bad.message }, be.name);
  } finally {
    wasm.dispose();
  }
});
