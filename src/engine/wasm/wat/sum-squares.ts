/**
 * Sum of squares of x[0, n) in float64, as `sumSquares` of backend.ts (the reference: TsBackend;
 * the global gradient norm of clipping): sum_i x_i^2, as per-chunk partials the backend adds in chunk
 * order, so the result has the same bits for every thread count. Tests: "sumSquares and adamUpdate
 * match TsBackend", "layerNormBackward's dgamma/dbeta and sumSquares have the same bits with 1 and 2
 * threads" (test/engine/wasm-backend.test.ts).
 */
import { PARTIALS_BYTES } from "../layout.js";
import { atLocals as at, get, i32, kernelFunc, locals, set, shareLoop, vectorShare } from "./util.js";

/**
 * [0, n) of x is cut into `chunks` chunks (starts rounded down to multiples of 4; the last ends at
 * n) and thread tid takes a contiguous share of them; chunk ch writes its float64 sum of squares at
 * byte PARTIALS_BYTES + 8 ch (the caller adds them in chunk order).
 */
export function sumSquares(): string {
  // four float64x2 accumulators (8 floats per step) so that the adds do not wait on each other
  const sq = (acc: string, d: string): string => set(acc, `(f64x2.add ${get(acc)} (f64x2.mul ${d} ${d}))`);
  const lo = (v: string): string => `(f64x2.promote_low_f32x4 ${v})`;
  const hi = (v: string): string =>
    `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v}))`;
  return `
(func $sumsq_range (param $x i32) (param $a i32) (param $b i32) (result f64)
  ${locals("i32", ["b4", "b8", "i"])}
  ${locals("v128", ["a0", "a1", "a2", "a3", "v", "w", "d"])} (local $s f64) (local $f f64)
  ${set("b4", `(i32.add ${get("a")} (i32.and (i32.sub ${get("b")} ${get("a")}) (i32.const -4)))`)}
  ${set("b8", `(i32.add ${get("a")} (i32.and (i32.sub ${get("b")} ${get("a")}) (i32.const -8)))`)}
  ${set("i", get("a"))}
  (block $we (loop $wl
    (br_if $we (i32.ge_s ${get("i")} ${get("b8")}))
    ${set("v", `(v128.load ${at("x", "i")})`)} ${set("w", `(v128.load offset=16 ${at("x", "i")})`)}
    ${set("d", lo(get("v")))} ${sq("a0", get("d"))}
    ${set("d", hi(get("v")))} ${sq("a1", get("d"))}
    ${set("d", lo(get("w")))} ${sq("a2", get("d"))}
    ${set("d", hi(get("w")))} ${sq("a3", get("d"))}
    ${set("i", `(i32.add ${get("i")} (i32.const 8))`)}
    (br $wl)))
  (block $ve (loop $vl
    (br_if $ve (i32.ge_s ${get("i")} ${get("b4")}))
    ${set("v", `(v128.load ${at("x", "i")})`)}
    ${set("d", lo(get("v")))} ${sq("a0", get("d"))}
    ${set("d", hi(get("v")))} ${sq("a1", get("d"))}
    ${set("i", `(i32.add ${get("i")} (i32.const 4))`)}
    (br $vl)))
  ${set("a0", `(f64x2.add (f64x2.add ${get("a0")} ${get("a1")}) (f64x2.add ${get("a2")} ${get("a3")}))`)}
  ${set("s", `(f64.add (f64x2.extract_lane 0 ${get("a0")}) (f64x2.extract_lane 1 ${get("a0")}))`)}
  (block $se (loop $sl
    (br_if $se (i32.ge_s ${get("i")} ${get("b")}))
    ${set("f", `(f64.promote_f32 (f32.load ${at("x", "i")}))`)}
    ${set("s", "(f64.add (local.get $s) (f64.mul (local.get $f) (local.get $f)))")}
    ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
    (br $sl)))
  ${get("s")})
${kernelFunc(
  "sumSquares",
  locals("i32", ["ch", "ch1", "a", "b"]),
  shareLoop(
    "ch",
    "ch1",
    get("chunks"),
    `${vectorShare("a", "b", null, get("n"), get("ch"), get("chunks"))}
    (f64.store (i32.add ${i32(PARTIALS_BYTES)} (i32.shl ${get("ch")} (i32.const 3))) (call $sumsq_range ${get("x")} ${get("a")} ${get("b")}))`,
    "cl",
  ),
)}`;
}
