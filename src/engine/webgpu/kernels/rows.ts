/**
 * Row lookups (reference: embeddingForward, gatherRows and scatterAddRows of
 * src/engine/ts-backend.ts). Row indices come from `ints`; like the reference, they are not checked.
 *
 *   EMBEDDING:   out[t,c] = table[ids[t],c] * scale + pe[positions[t],c]   (one invocation per element)
 *   GATHER:      out[r,c] = inp[rows[r],c]                                  (one invocation per element)
 *   SCATTER_ADD: dinp[rows[r],c] += dout[r,c] * scale, in order of r
 *
 * SCATTER_ADD runs one invocation per (distinct target row, column), without atomics: the backend
 * lists, from the CPU's copy of `rows`, the first r of each distinct target (`heads`) and for every r
 * the next r' > r with the same target (`next`, -1 at the end), so an invocation walks its target's
 * rows in order of r and repeated rows add up in the reference's order.
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
  "dinp: u32, dout: u32, rows: u32, heads: u32, next: u32, numHeads: u32, C: u32, scale: f32,",
  "i",
  "a.numHeads * a.C",
  /* wgsl */ `
let c = i % a.C;
var r = ints[a.heads + i / a.C];
let o = a.dinp + u32(ints[a.rows + u32(r)]) * a.C + c;
var sum = heap[o];
while (r >= 0) {
  sum = sum + heap[a.dout + u32(r) * a.C + c] * a.scale;
  r = ints[a.next + u32(r)];
}
heap[o] = sum;`,
);
