/**
 * WebAssembly text for the kernels other than matrix products and attention: layer norm, softmax
 * cross-entropy, sum of squares and the Adam update (attention is in wat-attention.ts, the light
 * elementwise and row kernels in wat-elementwise.ts). Same contracts as backend.ts / TsBackend.
 *
 * Each `$name (tid, nth)` gets its arguments (declared in kernels.ts) as locals and does thread
 * tid's contiguous share: rows for layer norm and cross-entropy, chunks for sum of squares and Adam.
 * Sums across rows (dgamma/dbeta, sum of squares) go to partials over a fixed number of chunks
 * (chosen from the size alone, given by the caller) and are added in chunk order, so results have
 * the same bits for every thread count. GELU (forward and backward) is here too, for its exp.
 *
 * exp is computed in WebAssembly (no instruction exists): Cephes' single-precision method, range
 * reduction by ln 2 and a degree-6 polynomial, about 1 ulp; inputs below -87.3 give exactly 0 (so
 * masked attention keys get probability 0, as with Math.exp).
 */
import { f32, get, i32, kernelFunc, locals, madd, set, shareLoop, vectorShare } from "./wat-util.js";
import { PARTIALS_BYTES } from "./layout.js";
import { GELU_A, GELU_B } from "../backend.js";

const splat = (x: number): string => `(f32x4.splat ${f32(x)})`;

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

function expWat(fma: boolean): string {
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

/** `base + 4 * index` */
function at(base: string, index: string): string {
  return `(i32.add ${get(base)} (i32.shl ${get(index)} (i32.const 2)))`;
}

/** for c in [0, c4) step 4: vec; then for c in [c4, C): scalar. */
export function vecTail(c: string, c4: string, C: string, label: string, vec: string, scalar: string): string {
  return `${set(c, i32(0))}
    (block $${label}_ve (loop $${label}_v
      (br_if $${label}_ve (i32.ge_s ${get(c)} ${get(c4)}))
      ${vec}
      ${set(c, `(i32.add ${get(c)} (i32.const 4))`)}
      (br $${label}_v)))
    (block $${label}_se (loop $${label}_s
      (br_if $${label}_se (i32.ge_s ${get(c)} ${get(C)}))
      ${scalar}
      ${set(c, `(i32.add ${get(c)} (i32.const 1))`)}
      (br $${label}_s)))`;
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

/**
 * Softmax cross-entropy of rows [R, V] (dlogits 0: no gradient; labels < 0: ignored rows). Rows
 * split. The loss uses log from the host (one call per row); exp is computed here.
 */
function crossEntropy(fma: boolean): string {
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

/**
 * [0, n) of x is cut into `chunks` chunks (starts rounded down to multiples of 4; the last ends at
 * n) and thread tid takes a contiguous share of them; chunk ch writes its float64 sum of squares at
 * byte PARTIALS_BYTES + 8 ch (the caller adds them in chunk order).
 */
function sumSquares(): string {
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

/**
 * Adam with decoupled weight decay on the elements whose decayMask byte is 1 (decayMask 0: none).
 * Chunks split. Computed in float32 lanes (TsBackend uses float64 temporaries; differences are a
 * few ulp).
 */
function adam(): string {
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
    `${set("lrf", `(f32.demote_f64 ${get("lr")})`)} ${set("b1", `(f32.demote_f64 ${get("beta1")})`)} ${set("b2", `(f32.demote_f64 ${get("beta2")})`)}
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

/**
 * GELU (tanh form, as x * sigmoid) forward and backward over [0, n), chunks split; see `gelu` in
 * backend.ts. Vectors of 4, then single elements, with the same float32 steps as TsBackend; only exp
 * differs from Math.exp (about 1 ulp).
 */
function geluKernels(fma: boolean): string {
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

/** All non-matmul kernels. */
export function opsWat(fma: boolean): string {
  return [
    expWat(fma),
    geluKernels(fma),
    layerNormForward(),
    layerNormBackward(),
    layerNormReduce(),
    crossEntropy(fma),
    sumSquares(),
    adam(),
  ].join("\n");
}
