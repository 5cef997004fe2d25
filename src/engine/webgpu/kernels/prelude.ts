/**
 * What every WGSL kernel of the WebGPU backend starts with: its three bindings and the index helper.
 *
 * Every float array of the backend lives in one storage buffer, `heap` (the backend's `alloc` hands
 * out ranges of it), so a kernel names its arrays by element offsets in its uniform arguments, and
 * one bind group serves every dispatch (the uniform slot is a dynamic offset). Integer inputs (token
 * ids, labels, row lists, the sequence table) are copied from the CPU at call time into `ints`, a
 * read-only buffer written once per submission.
 *
 * Each kernel declares its own `struct Args` (u32 fields first, then f32 fields: the order in which
 * the backend writes the words) and its entry point `main`.
 */
export const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> heap: array<f32>;
@group(0) @binding(1) var<storage, read> ints: array<i32>;
@group(0) @binding(2) var<uniform> a: Args;

// The flat index of an invocation of a 1-D kernel of 256 invocations per workgroup dispatched on a
// 2-D grid (a grid dimension holds at most 65535 workgroups).
fn flatIndex(wg: vec3<u32>, groups: vec3<u32>, local: u32) -> u32 {
  return (wg.y * groups.x + wg.x) * 256u + local;
}
`;

/** "No array" in an offset argument (a null bias, no gradient output). */
export const NONE = 0xffffffff;

/** Invocations per workgroup of the 1-D kernels (flatIndex above assumes it). */
export const GROUP = 256;

/** Builds a kernel's source: the prelude, its `struct Args` fields and its body (helpers and `main`). */
export function kernelSource(args: string, body: string): string {
  return `${PRELUDE}\nstruct Args {\n${args}\n};\n${body}`;
}

/**
 * A 1-D kernel: `main` runs `body` once per value of `index` below `count` (a WGSL expression of the
 * arguments), 256 invocations per workgroup; `helpers` are WGSL functions it calls.
 */
export function perInvocation(args: string, index: string, count: string, body: string, helpers = ""): string {
  return kernelSource(
    args,
    `${helpers}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) local: u32) {
  let ${index} = flatIndex(wg, groups, local);
  if (${index} >= ${count}) { return; }
  ${body}
}`,
  );
}
