/**
 * Row lookups (reference: embeddingForward, gatherRows and scatterAddRows of
 * src/engine/ts-backend.ts). Row indices come from `ints`; like the reference, they are not checked.
 *
 *   EMBEDDING:   out[t,c] = table[ids[t],c] * scale + pe[positions[t],c]   (one invocation per element)
 *   GATHER:      out[r,c] = inp[rows[r],c]                                  (one invocation per element)
 *   SCATTER_ADD: dinp[rows[r],c] += dout[r,c] * scale, in order of r        (one invocation per column,
 *                walking the rows in order: repeated rows add up in the reference's order, with no
 *                atomics)
 */
import { perInvocation } from "./prelude.js";

/** The row and column of element i of an [R, C] output. */
const ROW_COLUMN = /* wgsl */ `
let r = i / a.C;
let c = i % a.C;`;

export const EMBEDDING = perInvocation(
  "out: u32, ids: u32, positions: u32, table: u32, pe: u32, R: u32, C: u32, scale: f32,",
  "i",
  "a.R * a.C",
  /* wgsl */ `${ROW_COLUMN}
let e = u32(ints[a.ids + r]) * a.C + c;
let q = u32(ints[a.positions + r]) * a.C + c;
heap[a.out + i] = heap[a.table + e] * a.scale + heap[a.pe + q];`,
);

export const GATHER = perInvocation(
  "out: u32, inp: u32, rows: u32, R: u32, C: u32,",
  "i",
  "a.R * a.C",
  /* wgsl */ `${ROW_COLUMN}
heap[a.out + i] = heap[a.inp + u32(ints[a.rows + r]) * a.C + c];`,
);

export const SCATTER_ADD = perInvocation(
  "dinp: u32, dout: u32, rows: u32, R: u32, C: u32, scale: f32,",
  "c",
  "a.C",
  /* wgsl */ `
for (var r = 0u; r < a.R; r++) {
  let o = u32(ints[a.rows + r]) * a.C + c;
  heap[a.dinp + o] = heap[a.dinp + o] + heap[a.dout + r * a.C + c] * a.scale;
}`,
);
