/**
 * exp on four f32 lanes, which WebAssembly has no instruction for, and the module's helpers `$exp4`,
 * `$exp1` and `$hsum` (the sum of four lanes), used by attention's softmax, cross-entropy and GELU.
 *
 * Reference: Cephes' single-precision expf, range reduction by ln 2 and a degree-6 polynomial, about
 * 1 ulp from Math.exp; inputs below -87.3 give exactly 0 (so masked attention keys get probability 0,
 * as with Math.exp). Checked through the kernels that use it (test/engine/wasm-backend.test.ts:
 * attention, crossEntropy and gelu against TsBackend).
 */
import { get, madd, set, splat } from "./util.js";

/** Locals that `expInline` needs in the calling function. */
export const EXP_LOCALS = `(local $ex_x v128) (local $ex_c v128) (local $ex_n v128) (local $ex_r v128) (local $ex_p v128)`;

/**
 * exp on four lanes (Cephes expf): x = n ln2 + r, exp(r) by polynomial, times 2^n; lanes below
 * -87.3 give 0, NaN stays NaN. Statements that leave the result in local $ex_p (inlined: a call per vector cost
 * more than the arithmetic). n is rounded by adding 1.5 * 2^23 + 127 (the float's low mantissa bits
 * then hold n + 127, so a shift by 23 makes 2^n), and pmin/pmax clamp with one instruction each;
 * both are cheaper in V8 than f32x4.nearest, i32x4.trunc_sat and the NaN-exact f32x4.min/max.
 */
export function expInline(x: string, fma: boolean): string {
  const m = (a: string, b: string, c: string): string => madd(a, b, c, fma);
  const magic = 12582912 + 127;
  return `${set("ex_x", x)}
  ${set("ex_c", `(f32x4.pmin (f32x4.pmax ${get("ex_x")} ${splat(-87.33654)}) ${splat(88.0)})`)}
  ${set("ex_n", m(get("ex_c"), splat(1.4426950408889634), splat(magic)))}
  ${set("ex_r", `(f32x4.sub ${get("ex_n")} ${splat(magic)})`)}
  ${set("ex_r", `(f32x4.sub (f32x4.sub ${get("ex_c")} (f32x4.mul ${get("ex_r")} ${splat(0.693359375)})) (f32x4.mul ${get("ex_r")} ${splat(-2.1219444e-4)}))`)}
  ${set("ex_p", m(splat(1.98756915e-4), get("ex_r"), splat(1.3981999507e-3)))}
  ${set("ex_p", m(get("ex_p"), get("ex_r"), splat(8.3334519073e-3)))}
  ${set("ex_p", m(get("ex_p"), get("ex_r"), splat(4.1665795894e-2)))}
  ${set("ex_p", m(get("ex_p"), get("ex_r"), splat(1.6666665459e-1)))}
  ${set("ex_p", m(get("ex_p"), get("ex_r"), splat(5.0000001201e-1)))}
  ${set("ex_p", `(f32x4.add (f32x4.add (f32x4.mul ${get("ex_p")} (f32x4.mul ${get("ex_r")} ${get("ex_r")})) ${get("ex_r")}) ${splat(1)})`)}
  ${set("ex_p", `(f32x4.mul ${get("ex_p")} (i32x4.shl ${get("ex_n")} (i32.const 23)))`)}
  ${set("ex_p", `(v128.andnot ${get("ex_p")} (f32x4.lt ${get("ex_x")} ${splat(-87.33654)}))`)}`;
}

/** The module's $exp4, $exp1 and $hsum functions. */
export function expWat(fma: boolean): string {
  return `
(func $exp4 (param $x v128) (result v128)
  ${EXP_LOCALS}
  ${expInline(get("x"), fma)}
  ${get("ex_p")})
(func $exp1 (param $x f32) (result f32)
  (f32x4.extract_lane 0 (call $exp4 (f32x4.splat ${get("x")}))))
;; sum of the four lanes
(func $hsum (param $v v128) (result f32)
  (f32.add
    (f32.add (f32x4.extract_lane 0 ${get("v")}) (f32x4.extract_lane 1 ${get("v")}))
    (f32.add (f32x4.extract_lane 2 ${get("v")}) (f32x4.extract_lane 3 ${get("v")}))))`;
}
