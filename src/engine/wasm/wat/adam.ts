/**
 * The Adam update with clipping's scale and optional decoupled weight decay, as `adamUpdate` of
 * backend.ts (the reference: TsBackend; see src/train/optimizer.ts for the formulas):
 *   g = grad * gradScale; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
 *   p -= lr (m / bias1) / (sqrt(v / bias2) + eps) (+ lr weightDecay p where decayMask is 1)
 * Test: "sumSquares and adamUpdate match TsBackend" (test/engine/wasm-backend.test.ts).
 */
import { atLocals as at, get, kernelFunc, locals, set, vectorShare } from "./util.js";

/**
 * Adam with decoupled weight decay on the elements whose decayMask byte is 1 (decayMask 0: none).
 * Chunks split. Computed in float32 lanes (TsBackend uses float64 temporaries; differences are a
 * few ulp).
 */
export function adam(): string {
  const vec = `
      ${set("gv", `(f32x4.mul (v128.load ${at("grads", "i")}) ${get("gsv")})`)}
      ${set("mv", `(f32x4.add (f32x4.mul ${get("b1v")} (v128.load ${at("m", "i")})) (f32x4.mul ${get("c1v")} ${get("gv")}))`)}
      ${set("vv", `(f32x4.add (f32x4.mul ${get("b2v")} (v128.load ${at("v", "i")})) (f32x4.mul ${get("c2v")} (f32x4.mul ${get("gv")} ${get("gv")})))`)}
      (v128.store ${at("m", "i")} ${get("mv")})
      (v128.store ${at("v", "i")} ${get("vv")})
      ${set("pv", `(v128.load ${at("params", "i")})`)}
      ${set("uv", `(f32x4.div (f32x4.mul ${get("mv")} ${get("k1v")}) (f32x4.add (f32x4.sqrt (f32x4.mul ${get("vv")} ${get("k2v")})) ${get("epsv")}))`)}
      (if ${get("decayMask")} (then
        ${set(
          "uv",
          `(f32x4.add ${get("uv")} (f32x4.mul (f32x4.mul ${get("wdv")} ${get("pv")}) (f32x4.convert_i32x4_u (i32x4.shr_u
            (i32x4.eq
              (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (i32.add ${get("decayMask")} ${get("i")}))))
              (i32x4.splat (i32.const 1)))
            (i32.const 31)))))`,
        )}))
      (v128.store ${at("params", "i")} (f32x4.sub ${get("pv")} (f32x4.mul ${get("lrv")} ${get("uv")})))`;
  return kernelFunc(
    "adam",
    `${locals("i32", ["a", "b", "b4", "i"])}
  ${locals("v128", ["gv", "mv", "vv", "pv", "uv", "gsv", "b1v", "b2v", "c1v", "c2v", "k1v", "k2v", "epsv", "wdv", "lrv"])}
  ${locals("f32", ["gs", "lrf", "b1", "b2", "k1", "k2", "epsf", "wd", "gf", "mf", "vf", "pf", "uf"])}`,
    `${set("lrf", `(f32.demote_f64 ${get("learningRate")})`)} ${set("b1", `(f32.demote_f64 ${get("beta1")})`)} ${set("b2", `(f32.demote_f64 ${get("beta2")})`)}
  ${set("epsf", `(f32.demote_f64 ${get("eps")})`)}
  ${set("k1", `(f32.demote_f64 (f64.div (f64.const 1) ${get("bias1")}))`)} ${set("k2", `(f32.demote_f64 (f64.div (f64.const 1) ${get("bias2")}))`)}
  ${set("gs", `(f32.demote_f64 ${get("gradScale")})`)} ${set("wd", `(f32.demote_f64 ${get("weightDecay")})`)}
  ${set("gsv", `(f32x4.splat ${get("gs")})`)} ${set("lrv", `(f32x4.splat ${get("lrf")})`)}
  ${set("b1v", `(f32x4.splat ${get("b1")})`)} ${set("b2v", `(f32x4.splat ${get("b2")})`)}
  ${set("c1v", `(f32x4.splat (f32.demote_f64 (f64.sub (f64.const 1) ${get("beta1")})))`)}
  ${set("c2v", `(f32x4.splat (f32.demote_f64 (f64.sub (f64.const 1) ${get("beta2")})))`)}
  ${set("k1v", `(f32x4.splat ${get("k1")})`)} ${set("k2v", `(f32x4.splat ${get("k2")})`)}
  ${set("epsv", `(f32x4.splat ${get("epsf")})`)} ${set("wdv", `(f32x4.splat ${get("wd")})`)}
  ${vectorShare("a", "b", "b4", get("n"), get("tid"), get("nth"))}
  ${set("i", get("a"))}
  (block $ve (loop $vl
    (br_if $ve (i32.ge_s ${get("i")} ${get("b4")}))
    ${vec}
    ${set("i", `(i32.add ${get("i")} (i32.const 4))`)}
    (br $vl)))
  (block $se (loop $sl
    (br_if $se (i32.ge_s ${get("i")} ${get("b")}))
    ${set("gf", `(f32.mul (f32.load ${at("grads", "i")}) ${get("gs")})`)}
    ${set("mf", `(f32.add (f32.mul ${get("b1")} (f32.load ${at("m", "i")})) (f32.mul (f32x4.extract_lane 0 ${get("c1v")}) ${get("gf")}))`)}
    ${set(
      "vf",
      `(f32.add (f32.mul ${get("b2")} (f32.load ${at("v", "i")}))
        (f32.mul (f32x4.extract_lane 0 ${get("c2v")}) (f32.mul ${get("gf")} ${get("gf")})))`,
    )}
    (f32.store ${at("m", "i")} ${get("mf")})
    (f32.store ${at("v", "i")} ${get("vf")})
    ${set("pf", `(f32.load ${at("params", "i")})`)}
    ${set("uf", `(f32.div (f32.mul ${get("mf")} ${get("k1")}) (f32.add (f32.sqrt (f32.mul ${get("vf")} ${get("k2")})) ${get("epsf")}))`)}
    (if (i32.and (i32.ne ${get("decayMask")} (i32.const 0)) (i32.eq (i32.load8_u (i32.add ${get("decayMask")} ${get("i")})) (i32.const 1))) (then
      ${set("uf", `(f32.add ${get("uf")} (f32.mul ${get("wd")} ${get("pf")}))`)}))
    (f32.store ${at("params", "i")} (f32.sub ${get("pf")} (f32.mul ${get("lrf")} ${get("uf")})))
    ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
    (br $sl)))`,
  );
}
