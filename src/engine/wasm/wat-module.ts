/**
 * The whole kernel module as WebAssembly text: imported shared memory, every kernel, and one exported
 * entry `task(tid, nth)` that every thread calls for a job; it reads the opcode from the control
 * block (layout.ts) and runs thread `tid`'s share of that kernel (kernels.ts), which loads its own
 * arguments.
 */
import { KERNEL_LIST } from "./kernels.js";
import { CTL_OP } from "./layout.js";
import { gemmWat, type GemmConfig } from "./wat-gemm.js";
import { opsWat } from "./wat-ops.js";
import { elementwiseWat } from "./wat-elementwise.js";
import { attentionBackwardWat, attentionForwardWat } from "./wat-attention.js";
import { PART_FUNC } from "./wat-util.js";

/** WAT text of the module (memory imported as env.memory, shared, up to 4 GiB). */
export function moduleWat(gemm: GemmConfig, fma: boolean): string {
  const dispatch = KERNEL_LIST.map(
    (k) =>
      `(if (i32.eq (local.get $op) (i32.const ${k.op})) (then (call $${k.func} (local.get $tid) (local.get $nth)) (return)))`,
  ).join("\n");
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))
  ${PART_FUNC}
  ${gemmWat(gemm, fma)}
  ${opsWat(fma)}
  ${elementwiseWat()}
  ${attentionForwardWat(gemm, fma)}
  ${attentionBackwardWat(gemm)}
  (func (export "task") (param $tid i32) (param $nth i32)
    (local $op i32)
    (local.set $op (i32.load (i32.const ${CTL_OP * 4})))
    ${dispatch}
    unreachable))`;
}
