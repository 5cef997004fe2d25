/**
 * Softmax cross-entropy of logits [R, V] against labels [R], as `crossEntropy` of backend.ts (the
 * reference: TsBackend):
 *   losses[r] = log(sum_j exp(x_rj - max_r)) - (x_r,label - max_r); rows with label < 0 give 0
 *   dlogits[r] = (softmax(x_r) - onehot(label)) * gradScale (when dlogits is not 0; may be logits)
 * Rows are split between threads. Test: "crossEntropy matches TsBackend: ignored rows, gradient, in
 * place" (test/engine/wasm-backend.test.ts).
 */
import { EXP_LOCALS, expInline } from "./exp.js";
import { atLocals as at, f32, get, kernelFunc, locals, set, shareLoop, splat, vecTail } from "./util.js";

/**
 * Softmax cross-entropy of rows [R, V] (dlogits 0: no gradient; labels < 0: ignored rows). Rows
 * split. The loss uses log from the host (one call per row); exp is computed here.
 */
export function crossEntropy(fma: boolean): string {
  const row = `
    ${set("x", `(i32.add ${get("logits")} (i32.shl (i32.mul ${get("r")} ${get("V")}) (i32.const 2)))`)}
    ${set("y", `(i32.add ${get("dlogits")} (i32.shl (i32.mul ${get("r")} ${get("V")}) (i32.const 2)))`)}
    ${set("lab", `(i32.load ${at("labels", "r")})`)}
    (if (i32.lt_s ${get("lab")} (i32.const 0))
      (then
        (f32.store ${at("losses", "r")} (f32.const 0))
        (if ${get("dlogits")} (then (memory.fill ${get("y")} (i32.const 0) (i32.shl ${get("V")} (i32.const 2))))))
      (else
        ;; max
        ${set("mv", splat(-Infinity))} ${set("mx", f32(-Infinity))}
        ${vecTail(
          "c",
          "c4",
          "V",
          "mx",
          set("mv", `(f32x4.pmax ${get("mv")} (v128.load ${at("x", "c")}))`),
          set("mx", `(f32.max ${get("mx")} (f32.load ${at("x", "c")}))`),
        )}
        ${set(
          "mx",
          `(f32.max (f32.max
            (f32.max (f32x4.extract_lane 0 ${get("mv")}) (f32x4.extract_lane 1 ${get("mv")}))
            (f32.max (f32x4.extract_lane 2 ${get("mv")}) (f32x4.extract_lane 3 ${get("mv")}))) ${get("mx")})`,
        )}
        ${set("mv", `(f32x4.splat ${get("mx")})`)}
        ${set("tgt", `(f32.load ${at("x", "lab")})`)}
        ;; sum of exp (stored into dlogits when wanted: it may be the logits array itself)
        ${set("acc", "(v128.const i32x4 0 0 0 0)")} ${set("s", f32(0))}
        (if ${get("dlogits")}
          (then ${vecTail(
            "c",
            "c4",
            "V",
            "ed",
            `
            ${expInline(`(f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")})`, fma)}
            (v128.store ${at("y", "c")} ${get("ex_p")})
            ${set("acc", `(f32x4.add ${get("acc")} ${get("ex_p")})`)}`,
            `
            ${set("e", `(call $exp1 (f32.sub (f32.load ${at("x", "c")}) ${get("mx")}))`)}
            (f32.store ${at("y", "c")} ${get("e")})
            ${set("s", `(f32.add ${get("s")} ${get("e")})`)}`,
          )})
          (else ${vecTail(
            "c",
            "c4",
            "V",
            "es",
            `${expInline(`(f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")})`, fma)} ${set("acc", `(f32x4.add ${get("acc")} ${get("ex_p")})`)}`,
            set("s", `(f32.add ${get("s")} (call $exp1 (f32.sub (f32.load ${at("x", "c")}) ${get("mx")})))`),
          )}))
        ${set("s", `(f32.add (call $hsum ${get("acc")}) ${get("s")})`)}
        (f32.store ${at("losses", "r")} (f32.demote_f64 (f64.sub
          (f64.add (call $log (f64.promote_f32 ${get("s")})) (f64.promote_f32 ${get("mx")}))
          (f64.promote_f32 ${get("tgt")}))))
        (if ${get("dlogits")} (then
          ${set("inv", `(f32.div ${get("gs")} ${get("s")})`)}
          ${set("iv", `(f32x4.splat ${get("inv")})`)}
          ${vecTail(
            "c",
            "c4",
            "V",
            "sc",
            `(v128.store ${at("y", "c")} (f32x4.mul (v128.load ${at("y", "c")}) ${get("iv")}))`,
            `(f32.store ${at("y", "c")} (f32.mul (f32.load ${at("y", "c")}) ${get("inv")}))`,
          )}
          (f32.store ${at("y", "lab")} (f32.sub (f32.load ${at("y", "lab")}) ${get("gs")}))))))`;
  return kernelFunc(
    "crossEntropy",
    `${locals("i32", ["r", "r1", "c", "c4", "x", "y", "lab"])}
  ${locals("f32", ["mx", "s", "tgt", "e", "gs", "inv"])}
  ${locals("v128", ["mv", "acc", "iv"])}
  ${EXP_LOCALS}`,
    `${set("gs", `(f32.demote_f64 ${get("gradScale")})`)}
  ${set("c4", `(i32.and ${get("V")} (i32.const -4))`)}
  ${shareLoop("r", "r1", get("R"), row, "rows")}`,
  );
}
