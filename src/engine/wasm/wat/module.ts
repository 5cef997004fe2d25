/**
 * The whole kernel module as WebAssembly text: imported shared memory, every kernel, and one exported
 * entry `task(tid, nth)` that every thread calls for a job; it reads the opcode from the control
 * block (layout.ts) and runs thread `tid`'s share of that kernel (kernels.ts), which loads its own
 * arguments.
 */
import { KERNEL_LIST } from "../kernels.js";
import { CTL_OP } from "../layout.js";
import type { GemmConfig } from "../tiles.js";
import { adam } from "./adam.js";
import { attentionBackwardWat, attentionForwardWat } from "./attention.js";
import { crossEntropy } from "./cross-entropy.js";
import { elementwiseWat } from "./elementwise.js";
import { expWat } from "./exp.js";
import { geluKernels } from "./gelu.js";
import { gemmWat } from "./gemm.js";
import { layerNormWat } from "./layer-norm.js";
import { sumSquares } from "./sum-squares.js";
import { PART_FUNC } from "./util.js";

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
  ${expWat(fma)}
  ${geluKernels(fma)}
  ${layerNormWat()}
  ${crossEntropy(fma)}
  ${sumSquares()}
  ${adam()}
  ${elementwiseWat()}
  ${attentionForwardWat(gemm, fma)}
  ${attentionBackwardWat(gemm)}
  (func (export "task") (param $tid i32) (param $nth i32)
    (local $op i32)
    (local.set $op (i32.load (i32.const ${CTL_OP * 4})))
    ${dispatch}
    unreachable))`;
}
