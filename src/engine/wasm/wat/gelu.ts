/**
 * GELU, tanh form, forward and backward, as `gelu` and `geluBackward` of backend.ts (the reference:
 * TsBackend, same float32 steps; only exp differs from Math.exp, by about 1 ulp):
 *   gelu(x) = x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) = x / (1 + exp(-(A x + B x^3)))
 * Test: "matmulTransposed, gelu and geluBackward match TsBackend, 1 and 2 threads"
 * (test/engine/wasm-backend.test.ts).
 */
import { GELU_A, GELU_B } from "../../backend.js";
import { EXP_LOCALS, expInline } from "./exp.js";
import { f32, get, kernelFunc, locals, set, splat, vectorShare } from "./util.js";

/**
 * GELU (tanh form, as x * sigmoid) forward and backward over [0, n), chunks split; see `gelu` in
 * backend.ts. Vectors of 4, then single elements, with the same float32 steps as TsBackend; only exp
 * differs from Math.exp (about 1 ulp).
 */
export function geluKernels(fma: boolean): string {
  const A = splat(GELU_A);
  const B = splat(GELU_B);
  const at = (base: string): string => `(i32.add ${get(base)} (i32.shl ${get("i")} (i32.const 2)))`;
  // s = 1 / (1 + exp(-x (A + B x^2))) for the vector $xv into $sv ($x2v keeps x^2)
  const sigmoid = `${set("x2v", `(f32x4.mul ${get("xv")} ${get("xv")})`)}
    ${expInline(`(f32x4.neg (f32x4.mul ${get("xv")} (f32x4.add ${A} (f32x4.mul ${B} ${get("x2v")}))))`, fma)}
    ${set("sv", `(f32x4.div ${splat(1)} (f32x4.add ${splat(1)} ${get("ex_p")}))`)}`;
  const scalarSigmoid = `${set("x2", `(f32.mul ${get("x")} ${get("x")})`)}
    ${set("s", `(f32.div ${f32(1)} (f32.add ${f32(1)} (call $exp1 (f32.neg (f32.mul ${get("x")} (f32.add ${f32(GELU_A)} (f32.mul ${f32(GELU_B)} ${get("x2")})))))))`)}`;
  // d * (s + x s (1 - s) (A + 3 B x^2))
  const slope = (x: string, x2: string, sv: string, T: "f32x4" | "f32", c: (v: number) => string): string =>
    `(${T}.add ${sv} (${T}.mul (${T}.mul ${x} (${T}.mul ${sv} (${T}.sub ${c(1)} ${sv}))) (${T}.add ${c(GELU_A)} (${T}.mul ${c(3)} (${T}.mul ${c(GELU_B)} ${x2})))))`;
  const kernel = (name: "gelu" | "geluBackward", src: string, vecStore: string, scalarStore: string): string =>
    kernelFunc(
      name,
      `${locals("i32", ["lo", "hi", "hi4", "i"])} ${locals("v128", ["xv", "x2v", "sv"])} ${locals("f32", ["x", "x2", "s"])}
  ${EXP_LOCALS}`,
      `${vectorShare("lo", "hi", "hi4", get("n"), get("tid"), get("nth"))}
  ${set("i", get("lo"))}
  (block $ve (loop $vl
    (br_if $ve (i32.ge_s ${get("i")} ${get("hi4")}))
    ${set("xv", `(v128.load ${at(src)})`)}
    ${sigmoid}
    ${vecStore}
    ${set("i", `(i32.add ${get("i")} (i32.const 4))`)}
    (br $vl)))
  (block $se (loop $sl
    (br_if $se (i32.ge_s ${get("i")} ${get("hi")}))
    ${set("x", `(f32.load ${at(src)})`)}
    ${scalarSigmoid}
    ${scalarStore}
    ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
    (br $sl)))`,
    );
  return [
    kernel(
      "gelu",
      "inp",
      `(v128.store ${at("out")} (f32x4.mul ${get("xv")} ${get("sv")}))`,
      `(f32.store ${at("out")} (f32.mul ${get("x")} ${get("s")}))`,
    ),
    kernel(
      "geluBackward",
      "inp",
      `(v128.store ${at("d")} (f32x4.mul (v128.load ${at("d")}) ${slope(get("xv"), get("x2v"), get("sv"), "f32x4", splat)}))`,
      `(f32.store ${at("d")} (f32.mul (f32.load ${at("d")}) ${slope(get("x"), get("x2"), get("s"), "f32", f32)}))`,
    ),
  ].join("\n");
}
