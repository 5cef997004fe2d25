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
import { kernelSource } from "./prelude.js";

const PER_ELEMENT = /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) local: u32) {
  let i = flatIndex(wg, groups, local);
  if (i >= a.R * a.C) { return; }
  let r = i / a.C;
  let c = i % a.C;`;

export const EMBEDDING = kernelSource(
  "out: u32, ids: u32, positions: u32, table: u32, pe: u32, R: u32, C: u32, scale: f32,",
  /* wgsl */ `${PER_ELEMENT}
  let e = u32(ints[a.ids + r]) * a.C + c;
  let q = u32(ints[a.positions + r]) * a.C + c;
  heap[a.out + i] = heap[a.table + e] * a.scale + heap[a.pe + q];
}`,
);

export const GATHER = kernelSource(
  "out: u32, inp: u32, rows: u32, R: u32, C: u32,",
  /* wgsl */ `${PER_ELEMENT}
  heap[a.out + i] = heap[a.inp + u32(ints[a.rows + r]) * a.C + c];
}`,
);

export const SCATTER_ADD = kernelSource(
  "dinp: u32, dout: u32, rows: u32, R: u32, C: u32, scale: f32,",
  /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) local: u32) {
  let c = flatIndex(wg, groups, local);
  if (c >= a.C) { return; }
  for (var r = 0u; r < a.R; r++) {
    let o = u32(ints[a.rows + r]) * a.C + c;
    heap[a.dinp + o] = heap[a.dinp + o] + heap[a.dout + r * a.C + c] * a.scale;
  }
}`,
);
