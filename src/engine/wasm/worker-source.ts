/**
 * Source of the worker threads, as the text of a classic-script function `(data, postMessage)` that
 * the platform runs in a worker (platform.ts), so that it works the same from compiled dist/
 * JavaScript, from TypeScript sources under tsx, and on any platform that supplies workers.
 *
 * A worker instantiates the shared compiled module on the shared memory, then loops: it spins on the
 * control block's generation word for a while (a dispatch then costs about two microseconds), falls
 * asleep in `Atomics.wait` after that, runs its share of each job with `task(tid, nth)`, and counts
 * itself done. Opcode -1 ends the loop. A kernel that throws sets the error flag instead of hanging
 * the main thread.
 */
import { CTL_DONE, CTL_ERR, CTL_GEN, CTL_NTH, CTL_OP } from "./layout.js";

export const WORKER_SOURCE = `function (workerData, postMessage) {
"use strict";
const { module, memory, tid, spin } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, log: Math.log } });
const task = instance.exports.task;
const ctl = new Int32Array(memory.buffer, 0, 16);
let gen = Atomics.load(ctl, ${CTL_GEN});
postMessage("ready");
for (;;) {
  let s = 0;
  while (Atomics.load(ctl, ${CTL_GEN}) === gen) {
    if (++s > spin) Atomics.wait(ctl, ${CTL_GEN}, gen);
  }
  gen = Atomics.load(ctl, ${CTL_GEN});
  const op = Atomics.load(ctl, ${CTL_OP});
  if (op === -1) break;
  const nth = Atomics.load(ctl, ${CTL_NTH});
  if (tid < nth) {
    try { task(tid, nth); } catch (e) { Atomics.store(ctl, ${CTL_ERR}, 1); }
  }
  Atomics.add(ctl, ${CTL_DONE}, 1);
  Atomics.notify(ctl, ${CTL_DONE});
}
}`;
