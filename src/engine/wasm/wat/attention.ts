/**
 * WebAssembly text for multi-head attention per sequence, built on the matrix-product micro-kernel.
 *
 * For one (sequence, head) pair with L rows and head width D, every step is a small product done by
 * the packers and `$mk` of gemm.ts, plus a row-wise softmax:
 *   forward:  S = Q K^T [L,L] (into the probs block), P = softmax(S * scale, padded keys -1e9),
 *             O = P V [L,D] (into out)
 *   backward: dP = dO V^T, dS = P * (dP - rowsum(P * dP)) * scale (0 for padded keys),
 *             dV = P^T dO, dQ = dS K, dK = dS^T Q
 * (Q, K, V, O of the head are column blocks of [T, C] arrays: row stride C.) Doing each product as a
 * register-tiled product instead of dot product by dot product is what makes short sequences fast.
 * Threads take contiguous ranges of (sequence, head) pairs; each pair writes only its own rows and
 * columns, so there are no races.
 *
 * Reference: `attentionForward` and `attentionBackward` of backend.ts (TsBackend). Test:
 * "attentionForward and attentionBackward match TsBackend (padded, all-padded and gap rows)"
 * (test/engine/wasm-backend.test.ts).
 */
import type { GemmConfig } from "../tiles.js";
import { EXP_LOCALS, expInline } from "./exp.js";
import { f32, get, i32, kernelFunc, locals, set, share, vecTail } from "./util.js";

/** `(i32.add base (i32.shl idx 2))` on expressions. */
const at = (base: string, idx: string): string => `(i32.add ${base} (i32.shl ${idx} (i32.const 2)))`;

/**
 * WAT of a product C[L1,L2] = A @ B on the current pair, looping tiles: `packA` and `packB(j0, nr)`
 * emit the packing calls (A into $ap with kc = `kc`, B panel j0 into $bp + j0*kc*4), `cAt(i0, j0)`
 * gives the byte address of C[i0, j0] and `ldc` its row stride in bytes.
 */
function product(
  cfg: GemmConfig,
  L1: string,
  L2: string,
  kc: string,
  packA: string,
  packB: (j0: string, nr: string) => string,
  cAt: (i0: string, j0: string) => string,
  ldc: string,
  label: string,
): string {
  const MR = cfg.mr;
  const NR = cfg.nv * 4;
  const nrOf = `(select (i32.sub ${L2} ${get("j0")}) ${i32(NR)} (i32.lt_s (i32.sub ${L2} ${get("j0")}) ${i32(NR)}))`;
  const mrOf = `(select (i32.sub ${L1} ${get("i0")}) ${i32(MR)} (i32.lt_s (i32.sub ${L1} ${get("i0")}) ${i32(MR)}))`;
  return `
    ${packA}
    ${set("j0", i32(0))}
    (block $${label}_pe (loop $${label}_p
      (br_if $${label}_pe (i32.ge_s ${get("j0")} ${L2}))
      ${packB(get("j0"), nrOf)}
      ${set("j0", `(i32.add ${get("j0")} ${i32(NR)})`)}
      (br $${label}_p)))
    ${set("i0", i32(0))}
    (block $${label}_ie (loop $${label}_i
      (br_if $${label}_ie (i32.ge_s ${get("i0")} ${L1}))
      ${set("j0", i32(0))}
      (block $${label}_je (loop $${label}_j
        (br_if $${label}_je (i32.ge_s ${get("j0")} ${L2}))
        (call $mk ${at(get("ap"), `(i32.mul ${get("i0")} ${kc})`)} ${at(get("bp"), `(i32.mul ${get("j0")} ${kc})`)} ${kc}
          ${cAt(get("i0"), get("j0"))} ${ldc} ${mrOf} ${nrOf} (i32.const 0) (i32.const 0) ${get("tmp")})
        ${set("j0", `(i32.add ${get("j0")} ${i32(NR)})`)}
        (br $${label}_j)))
      ${set("i0", `(i32.add ${get("i0")} ${i32(MR)})`)}
      (br $${label}_i)))`;
}

/** Address of row `row` (relative to the sequence start), column hc + col of a [T, C] array. */
const rowCol = (base: string, row: string, col: string): string =>
  at(get(base), `(i32.add (i32.mul (i32.add ${get("st")} ${row}) ${get("C")}) (i32.add ${get("hc")} ${col}))`);

/** Prologue shared by both kernels: thread range of pairs and the probs offset of the first one. */
function pairsPrologue(): string {
  return `
  ${set("D", `(i32.div_s ${get("C")} ${get("H")})`)}
  ${set("scale", `(f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_s ${get("D")})))`)}
  ${set("ldT", `(i32.shl ${get("C")} (i32.const 2))`)}
  ${share("p", "p1", `(i32.mul ${get("numSeqs")} ${get("H")})`)}
  (if (i32.ge_s ${get("p")} ${get("p1")}) (then (return)))
  ${set("pb", i32(0))}
  ${set("s", i32(0))}
  (block $pre (loop $prl
    (br_if $pre (i32.ge_s ${get("s")} (i32.div_s ${get("p")} ${get("H")})))
    ${set("L", `(i32.load offset=4 (i32.add ${get("seqs")} (i32.mul ${get("s")} (i32.const 12))))`)}
    ${set("pb", `(i32.add ${get("pb")} (i32.mul ${get("H")} (i32.mul ${get("L")} ${get("L")})))`)}
    ${set("s", `(i32.add ${get("s")} (i32.const 1))`)}
    (br $prl)))
  ${set("L", `(i32.load offset=4 (i32.add ${get("seqs")} (i32.mul (i32.div_s ${get("p")} ${get("H")}) (i32.const 12))))`)}
  ${set("pb", `(i32.add ${get("pb")} (i32.mul (i32.rem_s ${get("p")} ${get("H")}) (i32.mul ${get("L")} ${get("L")})))`)}`;
}

function pairTop(): string {
  return `
    ${set("s", `(i32.div_s ${get("p")} ${get("H")})`)}
    ${set("hc", `(i32.mul (i32.rem_s ${get("p")} ${get("H")}) ${get("D")})`)}
    ${set("st", `(i32.load (i32.add ${get("seqs")} (i32.mul ${get("s")} (i32.const 12))))`)}
    ${set("L", `(i32.load offset=4 (i32.add ${get("seqs")} (i32.mul ${get("s")} (i32.const 12))))`)}
    ${set("K", `(i32.load offset=8 (i32.add ${get("seqs")} (i32.mul ${get("s")} (i32.const 12))))`)}
    ${set("L4", `(i32.and ${get("L")} (i32.const -4))`)}
    ${set("pr", at(get("probs"), get("pb")))}
    ${set("ldL", `(i32.shl ${get("L")} (i32.const 2))`)}`;
}

const COMMON_I32 = ["D", "ldT", "ldL", "p", "p1", "pb", "s", "st", "L", "L4", "K", "hc", "pr"];
const COMMON_LOCALS = `${locals("i32", [...COMMON_I32, "i", "j", "i0", "j0", "ap", "bp", "tmp", "row"])}
  ${locals("f32", ["scale", "mx", "sum", "e", "dot"])}
  ${locals("v128", ["acc", "av", "bv"])}
  ${EXP_LOCALS}`;

/**
 * Thread tid's scratch (from the arguments scratch, scratchStride and maxLD): packed A at ap, packed
 * B at bp, a C tile at tmp (and, backward, a dS block after it).
 */
function scratchSetup(cfg: GemmConfig): string {
  const NR = cfg.nv * 4;
  const maxLm = get("maxLD");
  return `
  ${set("ap", `(i32.add ${get("scratch")} (i32.mul ${get("tid")} ${get("scratchStride")}))`)}
  ${set("bp", at(get("ap"), `(i32.mul (i32.mul (i32.div_u (i32.add ${maxLm} ${i32(cfg.mr - 1)}) ${i32(cfg.mr)}) ${i32(cfg.mr)}) ${maxLm})`))}
  ${set("tmp", at(get("bp"), `(i32.mul (i32.mul (i32.div_u (i32.add ${maxLm} ${i32(NR - 1)}) ${i32(NR)}) ${i32(NR)}) ${maxLm})`))}`;
}

/** out[T,C] and probs (L*L per (sequence, head) pair, in that order) from q, k, v. */
export function attentionForwardWat(cfg: GemmConfig, fma: boolean): string {
  return kernelFunc(
    "attentionForward",
    COMMON_LOCALS,
    `${scratchSetup(cfg)}
  ${pairsPrologue()}
  (block $done (loop $pairs
    (br_if $done (i32.ge_s ${get("p")} ${get("p1")}))
    ${pairTop()}
    ;; S = Q K^T into the probs block
    ${product(
      cfg,
      get("L"),
      get("L"),
      get("D"),
      `(call $packA_rows ${get("ap")} ${rowCol("q", i32(0), i32(0))} ${get("ldT")} ${get("L")} ${get("D")})`,
      (j0, nr) =>
        `(call $packB_trans ${at(get("bp"), `(i32.mul ${j0} ${get("D")})`)} ${rowCol("k", j0, i32(0))} ${get("ldT")} ${get("D")} ${nr})`,
      (i0, j0) => at(get("pr"), `(i32.add (i32.mul ${i0} ${get("L")}) ${j0})`),
      get("ldL"),
      "qk",
    )}
    ;; row softmax of S * scale with padded keys at -1e9
    ${set("i", i32(0))}
    (block $re (loop $rl
      (br_if $re (i32.ge_s ${get("i")} ${get("L")}))
      ${set("row", at(get("pr"), `(i32.mul ${get("i")} ${get("L")})`))}
      ${set("mx", f32(-Infinity))}
      ${set("j", i32(0))}
      (block $me (loop $ml
        (br_if $me (i32.ge_s ${get("j")} ${get("L")}))
        ${set(
          "e",
          `(if (result f32) (i32.lt_s ${get("j")} ${get("K")})
            (then (f32.mul (f32.load ${at(get("row"), get("j"))}) ${get("scale")}))
            (else ${f32(-1e9)}))`,
        )}
        (f32.store ${at(get("row"), get("j"))} ${get("e")})
        ${set("mx", `(f32.max ${get("mx")} ${get("e")})`)}
        ${set("j", `(i32.add ${get("j")} (i32.const 1))`)}
        (br $ml)))
      ${set("sum", f32(0))} ${set("acc", "(v128.const i32x4 0 0 0 0)")} ${set("av", `(f32x4.splat ${get("mx")})`)}
      ${vecTail(
        "j",
        "L4",
        "L",
        "sm",
        `
        ${expInline(`(f32x4.sub (v128.load ${at(get("row"), get("j"))}) ${get("av")})`, fma)}
        (v128.store ${at(get("row"), get("j"))} ${get("ex_p")})
        ${set("acc", `(f32x4.add ${get("acc")} ${get("ex_p")})`)}`,
        `
        ${set("e", `(call $exp1 (f32.sub (f32.load ${at(get("row"), get("j"))}) ${get("mx")}))`)}
        (f32.store ${at(get("row"), get("j"))} ${get("e")})
        ${set("sum", `(f32.add ${get("sum")} ${get("e")})`)}`,
      )}
      ${set("sum", `(f32.div (f32.const 1) (f32.add (call $hsum ${get("acc")}) ${get("sum")}))`)}
      ${set("av", `(f32x4.splat ${get("sum")})`)}
      ${vecTail(
        "j",
        "L4",
        "L",
        "nm",
        `(v128.store ${at(get("row"), get("j"))} (f32x4.mul (v128.load ${at(get("row"), get("j"))}) ${get("av")}))`,
        `(f32.store ${at(get("row"), get("j"))} (f32.mul (f32.load ${at(get("row"), get("j"))}) ${get("sum")}))`,
      )}
      ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
      (br $rl)))
    ;; O = P V into out
    ${product(
      cfg,
      get("L"),
      get("D"),
      get("L"),
      `(call $packA_rows ${get("ap")} ${get("pr")} ${get("ldL")} ${get("L")} ${get("L")})`,
      (j0, nr) =>
        `(call $packB_rows ${at(get("bp"), `(i32.mul ${j0} ${get("L")})`)} ${rowCol("v", i32(0), j0)} ${get("ldT")} ${get("L")} ${nr} (i32.const 0))`,
      (i0, j0) => rowCol("out", i0, j0),
      get("ldT"),
      "pv",
    )}
    ${set("pb", `(i32.add ${get("pb")} (i32.mul ${get("L")} ${get("L")}))`)}
    ${set("p", `(i32.add ${get("p")} (i32.const 1))`)}
    (br $pairs)))`,
  );
}

/** dq, dk, dv [T,C] from dout, the forward's probs, q, k and v. */
export function attentionBackwardWat(cfg: GemmConfig): string {
  const MR = cfg.mr;
  const NR = cfg.nv * 4;
  // element j of row i of the [L, L] matrices ds and probs (row = i * L)
  const rowJ = `(i32.add ${get("row")} ${get("j")})`;
  return kernelFunc(
    "attentionBackward",
    `${locals("i32", ["ds"])}
  ${COMMON_LOCALS}`,
    `${scratchSetup(cfg)}
  ${set("ds", at(get("tmp"), i32(MR * NR)))}
  ${pairsPrologue()}
  (block $done (loop $pairs
    (br_if $done (i32.ge_s ${get("p")} ${get("p1")}))
    ${pairTop()}
    ;; dP = dO V^T into ds
    ${product(
      cfg,
      get("L"),
      get("L"),
      get("D"),
      `(call $packA_rows ${get("ap")} ${rowCol("dout", i32(0), i32(0))} ${get("ldT")} ${get("L")} ${get("D")})`,
      (j0, nr) =>
        `(call $packB_trans ${at(get("bp"), `(i32.mul ${j0} ${get("D")})`)} ${rowCol("v", j0, i32(0))} ${get("ldT")} ${get("D")} ${nr})`,
      (i0, j0) => at(get("ds"), `(i32.add (i32.mul ${i0} ${get("L")}) ${j0})`),
      get("ldL"),
      "dp",
    )}
    ;; dS = P * (dP - sum_j P dP) * scale, zero for padded keys (their scores were constants)
    ${set("i", i32(0))}
    (block $re (loop $rl
      (br_if $re (i32.ge_s ${get("i")} ${get("L")}))
      ${set("row", `(i32.mul ${get("i")} ${get("L")})`)}
      ${set("dot", f32(0))} ${set("acc", "(v128.const i32x4 0 0 0 0)")}
      ${vecTail(
        "j",
        "L4",
        "L",
        "dt",
        set(
          "acc",
          `(f32x4.add ${get("acc")} (f32x4.mul (v128.load ${at(get("pr"), rowJ)}) (v128.load ${at(get("ds"), rowJ)})))`,
        ),
        set(
          "dot",
          `(f32.add ${get("dot")} (f32.mul (f32.load ${at(get("pr"), rowJ)}) (f32.load ${at(get("ds"), rowJ)})))`,
        ),
      )}
      ${set("dot", `(f32.add (call $hsum ${get("acc")}) ${get("dot")})`)}
      ${set("j", i32(0))}
      (block $ge (loop $gl
        (br_if $ge (i32.ge_s ${get("j")} ${get("L")}))
        (f32.store ${at(get("ds"), rowJ)}
          (if (result f32) (i32.lt_s ${get("j")} ${get("K")})
            (then (f32.mul
              (f32.mul (f32.load ${at(get("pr"), rowJ)}) (f32.sub (f32.load ${at(get("ds"), rowJ)}) ${get("dot")}))
              ${get("scale")}))
            (else (f32.const 0))))
        ${set("j", `(i32.add ${get("j")} (i32.const 1))`)}
        (br $gl)))
      ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
      (br $rl)))
    ;; dV = P^T dO
    ${product(
      cfg,
      get("L"),
      get("D"),
      get("L"),
      `(call $packA_trans ${get("ap")} ${get("pr")} ${get("ldL")} ${get("L")} ${get("L")})`,
      (j0, nr) =>
        `(call $packB_rows ${at(get("bp"), `(i32.mul ${j0} ${get("L")})`)} ${rowCol("dout", i32(0), j0)} ${get("ldT")} ${get("L")} ${nr} (i32.const 0))`,
      (i0, j0) => rowCol("dv", i0, j0),
      get("ldT"),
      "dv",
    )}
    ;; dQ = dS K
    ${product(
      cfg,
      get("L"),
      get("D"),
      get("L"),
      `(call $packA_rows ${get("ap")} ${get("ds")} ${get("ldL")} ${get("L")} ${get("L")})`,
      (j0, nr) =>
        `(call $packB_rows ${at(get("bp"), `(i32.mul ${j0} ${get("L")})`)} ${rowCol("k", i32(0), j0)} ${get("ldT")} ${get("L")} ${nr} (i32.const 0))`,
      (i0, j0) => rowCol("dq", i0, j0),
      get("ldT"),
      "dq",
    )}
    ;; dK = dS^T Q
    ${product(
      cfg,
      get("L"),
      get("D"),
      get("L"),
      `(call $packA_trans ${get("ap")} ${get("ds")} ${get("ldL")} ${get("L")} ${get("L")})`,
      (j0, nr) =>
        `(call $packB_rows ${at(get("bp"), `(i32.mul ${j0} ${get("L")})`)} ${rowCol("q", i32(0), j0)} ${get("ldT")} ${get("L")} ${nr} (i32.const 0))`,
      (i0, j0) => rowCol("dk", i0, j0),
      get("ldT"),
      "dk",
    )}
    ${set("pb", `(i32.add ${get("pb")} (i32.mul ${get("L")} ${get("L")}))`)}
    ${set("p", `(i32.add ${get("p")} (i32.const 1))`)}
    (br $pairs)))`,
  );
}
