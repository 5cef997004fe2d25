/**
 * Layer norm over the last axis of rows [T, C], forward and backward, as `layerNormForward` and
 * `layerNormBackward` of backend.ts (the reference: TsBackend, same float32 steps):
 *   forward:  m = mean(x), r = 1 / sqrt(mean((x - m)^2) + eps), out = (x - m) r gamma + beta
 *   backward: xhat = (x - m) r, g = dout gamma,
 *             dinp = r (g - mean(g) - xhat mean(g xhat)); dgamma += sum_t dout xhat, dbeta += sum_t dout
 * Rows are split between threads; dgamma/dbeta go through per-chunk partials added in chunk order by
 * `$ln_reduce`, so they have the same bits for every thread count.
 * Test: "layerNormForward and layerNormBackward match TsBackend" (test/engine/wasm-backend.test.ts).
 */
import { atLocals as at, f32, get, i32, kernelFunc, locals, set, shareLoop, vecTail } from "./util.js";

/** Layer norm of rows [T, C] (out, mean[T], rstd[T]). Rows split. */
function layerNormForward(): string {
  const row = `
    ${set("x", `(i32.add ${get("inp")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("o", `(i32.add ${get("out")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ;; mean
    ${set("acc", "(v128.const i32x4 0 0 0 0)")} ${set("s", f32(0))}
    ${vecTail(
      "c",
      "c4",
      "C",
      "mn",
      set("acc", `(f32x4.add ${get("acc")} (v128.load ${at("x", "c")}))`),
      set("s", `(f32.add ${get("s")} (f32.load ${at("x", "c")}))`),
    )}
    ${set("m", `(f32.div (f32.add (call $hsum ${get("acc")}) ${get("s")}) (f32.convert_i32_s ${get("C")}))`)}
    ${set("mv", `(f32x4.splat ${get("m")})`)}
    ;; variance about the mean
    ${set("acc", "(v128.const i32x4 0 0 0 0)")} ${set("s", f32(0))}
    ${vecTail(
      "c",
      "c4",
      "C",
      "vr",
      `${set("dv", `(f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")})`)} ${set("acc", `(f32x4.add ${get("acc")} (f32x4.mul ${get("dv")} ${get("dv")}))`)}`,
      `${set("d", `(f32.sub (f32.load ${at("x", "c")}) ${get("m")})`)} ${set("s", `(f32.add ${get("s")} (f32.mul ${get("d")} ${get("d")}))`)}`,
    )}
    ${set(
      "r",
      `(f32.div (f32.const 1) (f32.sqrt (f32.add
        (f32.div (f32.add (call $hsum ${get("acc")}) ${get("s")}) (f32.convert_i32_s ${get("C")}))
        ${get("epsf")})))`,
    )}
    ${set("rv", `(f32x4.splat ${get("r")})`)}
    ${vecTail(
      "c",
      "c4",
      "C",
      "nm",
      `(v128.store ${at("o", "c")} (f32x4.add
        (f32x4.mul (f32x4.mul (f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")}) ${get("rv")}) (v128.load ${at("gamma", "c")}))
        (v128.load ${at("beta", "c")})))`,
      `(f32.store ${at("o", "c")} (f32.add
        (f32.mul (f32.mul (f32.sub (f32.load ${at("x", "c")}) ${get("m")}) ${get("r")}) (f32.load ${at("gamma", "c")}))
        (f32.load ${at("beta", "c")})))`,
    )}
    (f32.store ${at("mean", "t")} ${get("m")})
    (f32.store ${at("rstd", "t")} ${get("r")})`;
  return kernelFunc(
    "layerNormForward",
    `${locals("i32", ["t", "t1", "c", "c4", "x", "o"])}
  ${locals("f32", ["s", "m", "r", "d", "epsf"])}
  (local $acc v128) (local $mv v128) (local $rv v128) (local $dv v128)`,
    `${set("epsf", `(f32.demote_f64 ${get("eps")})`)}
  ${set("c4", `(i32.and ${get("C")} (i32.const -4))`)}
  ${shareLoop("t", "t1", get("T"), row, "rows")}`,
  );
}

/**
 * dinp of layer norm, and dgamma/dbeta as partial sums: rows are cut into `chunks` chunks (chunk ch:
 * rows [T ch / n, T (ch+1) / n)), and thread tid takes a contiguous share of the chunks. Chunk ch
 * writes its partial dgamma then dbeta (C floats each) at partials + ch * 8C bytes; $ln_reduce adds
 * them up in chunk order.
 */
function layerNormBackward(): string {
  const row = `
    ${set("x", `(i32.add ${get("inp")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("g", `(i32.add ${get("dout")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("di", `(i32.add ${get("dinp")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("m", `(f32.load ${at("mean", "t")})`)} ${set("r", `(f32.load ${at("rstd", "t")})`)}
    ${set("mv", `(f32x4.splat ${get("m")})`)} ${set("rv", `(f32x4.splat ${get("r")})`)}
    ;; pass 1: sums of dnorm and dnorm * norm; partial dgamma += dout * norm, dbeta += dout
    ${set("a1", "(v128.const i32x4 0 0 0 0)")} ${set("a2", "(v128.const i32x4 0 0 0 0)")} ${set("s1", f32(0))} ${set("s2", f32(0))}
    ${vecTail(
      "c",
      "c4",
      "C",
      "p1",
      `
      ${set("gv", `(v128.load ${at("g", "c")})`)}
      ${set("nv", `(f32x4.mul (f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")}) ${get("rv")})`)}
      ${set("dnv", `(f32x4.mul ${get("gv")} (v128.load ${at("gamma", "c")}))`)}
      ${set("a1", `(f32x4.add ${get("a1")} ${get("dnv")})`)}
      ${set("a2", `(f32x4.add ${get("a2")} (f32x4.mul ${get("dnv")} ${get("nv")}))`)}
      (v128.store ${at("pb", "c")} (f32x4.add (v128.load ${at("pb", "c")}) ${get("gv")}))
      (v128.store ${at("pg", "c")} (f32x4.add (v128.load ${at("pg", "c")}) (f32x4.mul ${get("gv")} ${get("nv")})))`,
      `
      ${set("go", `(f32.load ${at("g", "c")})`)}
      ${set("nrm", `(f32.mul (f32.sub (f32.load ${at("x", "c")}) ${get("m")}) ${get("r")})`)}
      ${set("dn", `(f32.mul ${get("go")} (f32.load ${at("gamma", "c")}))`)}
      ${set("s1", `(f32.add ${get("s1")} ${get("dn")})`)}
      ${set("s2", `(f32.add ${get("s2")} (f32.mul ${get("dn")} ${get("nrm")}))`)}
      (f32.store ${at("pb", "c")} (f32.add (f32.load ${at("pb", "c")}) ${get("go")}))
      (f32.store ${at("pg", "c")} (f32.add (f32.load ${at("pg", "c")}) (f32.mul ${get("go")} ${get("nrm")})))`,
    )}
    ${set("md", `(f32.div (f32.add (call $hsum ${get("a1")}) ${get("s1")}) (f32.convert_i32_s ${get("C")}))`)}
    ${set("mdn", `(f32.div (f32.add (call $hsum ${get("a2")}) ${get("s2")}) (f32.convert_i32_s ${get("C")}))`)}
    ${set("mdv", `(f32x4.splat ${get("md")})`)} ${set("mdnv", `(f32x4.splat ${get("mdn")})`)}
    ;; pass 2: dinp = rstd * (dout * gamma - mean(dnorm) - norm * mean(dnorm * norm))
    ${vecTail(
      "c",
      "c4",
      "C",
      "p2",
      `
      ${set("nv", `(f32x4.mul (f32x4.sub (v128.load ${at("x", "c")}) ${get("mv")}) ${get("rv")})`)}
      (v128.store ${at("di", "c")} (f32x4.mul ${get("rv")} (f32x4.sub
        (f32x4.sub (f32x4.mul (v128.load ${at("g", "c")}) (v128.load ${at("gamma", "c")})) ${get("mdv")})
        (f32x4.mul ${get("nv")} ${get("mdnv")}))))`,
      `
      ${set("nrm", `(f32.mul (f32.sub (f32.load ${at("x", "c")}) ${get("m")}) ${get("r")})`)}
      (f32.store ${at("di", "c")} (f32.mul ${get("r")} (f32.sub
        (f32.sub (f32.mul (f32.load ${at("g", "c")}) (f32.load ${at("gamma", "c")})) ${get("md")})
        (f32.mul ${get("nrm")} ${get("mdn")}))))`,
    )}`;
  const chunk = `
    ${set("pg", `(i32.add ${get("partials")} (i32.mul ${get("ch")} (i32.shl ${get("C")} (i32.const 3))))`)}
    ${set("pb", `(i32.add ${get("pg")} (i32.shl ${get("C")} (i32.const 2)))`)}
    (memory.fill ${get("pg")} (i32.const 0) (i32.shl ${get("C")} (i32.const 3)))
    ${shareLoop("t", "t1", get("T"), row, "rows", get("ch"), get("chunks"))}`;
  return kernelFunc(
    "layerNormBackward",
    `${locals("i32", ["pg", "pb", "t", "t1", "c", "c4", "x", "g", "di", "ch", "ch1"])}
  ${locals("f32", ["m", "r", "s1", "s2", "nrm", "dn", "go", "md", "mdn"])}
  ${locals("v128", ["a1", "a2", "mv", "rv", "nv", "gv", "dnv", "mdv", "mdnv"])}`,
    `${set("c4", `(i32.and ${get("C")} (i32.const -4))`)}
  ${shareLoop("ch", "ch1", get("chunks"), chunk, "chunks")}`,
  );
}

/**
 * Run on one thread after $ln_bwd: dgamma[c] += sum over chunks (in order) of the partial dgamma,
 * dbeta likewise (the two are C floats apart in every chunk's 2C).
 */
function layerNormReduce(): string {
  return kernelFunc(
    "layerNormReduce",
    `${locals("i32", ["c", "c4", "ch", "p", "stride", "dst", "j"])}
  (local $acc v128) (local $s f32)`,
    `${set("c4", `(i32.and ${get("C")} (i32.const -4))`)}
  ${set("stride", `(i32.shl ${get("C")} (i32.const 3))`)}
  ;; j = 0: dgamma from offset 0 of each chunk; j = 1: dbeta from offset 4C
  ${set("j", i32(0))}
  (block $halves_done (loop $halves
    (br_if $halves_done (i32.ge_s ${get("j")} (i32.const 2)))
    ${set("dst", `(select ${get("dbeta")} ${get("dgamma")} ${get("j")})`)}
    ${vecTail(
      "c",
      "c4",
      "C",
      "rd",
      `
      ${set("acc", "(v128.const i32x4 0 0 0 0)")}
      ${set("p", `(i32.add (i32.add ${get("partials")} (i32.mul ${get("j")} (i32.shl ${get("C")} (i32.const 2)))) (i32.shl ${get("c")} (i32.const 2)))`)}
      ${set("ch", i32(0))}
      (block $rv_e (loop $rv_l
        (br_if $rv_e (i32.ge_s ${get("ch")} ${get("chunks")}))
        ${set("acc", `(f32x4.add ${get("acc")} (v128.load ${get("p")}))`)}
        ${set("p", `(i32.add ${get("p")} ${get("stride")})`)}
        ${set("ch", `(i32.add ${get("ch")} (i32.const 1))`)}
        (br $rv_l)))
      (v128.store ${at("dst", "c")} (f32x4.add (v128.load ${at("dst", "c")}) ${get("acc")}))`,
      `
      ${set("s", f32(0))}
      ${set("p", `(i32.add (i32.add ${get("partials")} (i32.mul ${get("j")} (i32.shl ${get("C")} (i32.const 2)))) (i32.shl ${get("c")} (i32.const 2)))`)}
      ${set("ch", i32(0))}
      (block $rs_e (loop $rs_l
        (br_if $rs_e (i32.ge_s ${get("ch")} ${get("chunks")}))
        ${set("s", `(f32.add ${get("s")} (f32.load ${get("p")}))`)}
        ${set("p", `(i32.add ${get("p")} ${get("stride")})`)}
        ${set("ch", `(i32.add ${get("ch")} (i32.const 1))`)}
        (br $rs_l)))
      (f32.store ${at("dst", "c")} (f32.add (f32.load ${at("dst", "c")}) ${get("s")}))`,
    )}
    ${set("j", `(i32.add ${get("j")} (i32.const 1))`)}
    (br $halves)))`,
  );
}

/** The three layer-norm kernels. */
export function layerNormWat(): string {
  return [layerNormForward(), layerNormBackward(), layerNormReduce()].join("\n");
}
