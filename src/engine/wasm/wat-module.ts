/**
 * The whole kernel module as WebAssembly text: imported shared memory, every kernel, and one exported
 * entry `task(tid, nth)` that every thread calls for a job; it reads the opcode and the arguments from
 * the control block (layout.ts) and runs thread `tid`'s share of the work.
 */
import { CTL_OP, Op } from "./layout.js";
import { gemmWat, type GemmConfig } from "./wat-gemm.js";
import { opsWat } from "./wat-ops.js";
import { elementwiseWat } from "./wat-elementwise.js";
import { attentionBackwardWat, attentionForwardWat } from "./wat-attention.js";

/** Kernels by opcode, as names of `(func $name (param $tid i32) (param $nth i32))` in the module. */
const TASKS: Record<number, string> = {
  [Op.gemm]: "$gemm",
  [Op.layerNormForward]: "$ln_fwd",
  [Op.layerNormBackward]: "$ln_bwd",
  [Op.layerNormReduce]: "$ln_reduce",
  [Op.attentionForward]: "$attn_fwd",
  [Op.attentionBackward]: "$attn_bwd",
  [Op.crossEntropy]: "$xent",
  [Op.sumSquares]: "$sumsq",
  [Op.adam]: "$adam",
  [Op.scale]: "$ew_scale",
  [Op.scaleAdd]: "$ew_scale_add",
  [Op.dropout]: "$ew_dropout",
  [Op.addDropout]: "$ew_add_dropout",
  [Op.reluDropout]: "$ew_relu_dropout",
  [Op.reluBackward]: "$ew_relu_bwd",
  [Op.embeddingForward]: "$embed_fwd",
  [Op.gatherRows]: "$gather_rows",
  [Op.scatterAddRows]: "$scatter_add_rows",
};

/** WAT text of the module (memory imported as env.memory, shared, up to 4 GiB). */
export function moduleWat(gemm: GemmConfig, fma: boolean): string {
  const dispatch = Object.entries(TASKS)
    .map(
      ([op, name]) =>
        `(if (i32.eq (local.get $op) (i32.const ${op})) (then (call ${name} (local.get $tid) (local.get $nth)) (return)))`,
    )
    .join("\n");
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))
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
