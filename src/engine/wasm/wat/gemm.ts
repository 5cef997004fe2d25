/**
 * WebAssembly text for the matrix products, generated for a register tile chosen by measurement.
 *
 * `$gemm` (broadcast form, GotoBLAS style): C[M,N] (=|+=) A[M,K] @ B[K,N]. For each block of KC inner
 * steps, the thread's rows of A are packed into MR-row slivers (k-major, MR values per k) and a block
 * of NC columns of B into NR-column panels (k-major rows of NR values, zero padded). The micro-kernel
 * keeps an MR x NR tile of C in MR * NR/4 v128 registers and, per k, splats MR values of A and loads
 * NR/4 vectors of B. The modes (GEMM_MODE, kernels.ts) differ only in how A and B are read while packing:
 *   product:            out  = inp @ w        A = inp [M,K] rows,          B = w [K,N] rows
 *   weightGradient:     dw  += inp^T @ dout   A = inp^T (read transposed),  B = dout [T,N] rows (column sums -> dbias)
 *   productTransposedB: dinp = dout @ w^T     A = dout [M,N] rows,          B = w^T (read transposed)
 * Measured on x86-64 / Node 20, one thread, encoder and head shapes: a 6x8 tile (12 accumulators)
 * without unrolling gave 53-57 GFLOP/s, ahead of 5x8 and 3x12 (52-56), 4x8 (48), 7x8 (44, spills)
 * and 2x16 (33); unrolling the k loop by 2 or 4 with constant offsets cost 10-25%. A dot form for
 * dinp (both operands read along the inner axis, no packing) reached only ~37 against ~53 for
 * packing w^T. Packing moves 4x4 blocks with shuffles where the tile is full.
 *
 * Work is split between threads by rows or by columns of C in whole tiles, so every element of C is
 * computed by exactly one thread, always in the same order: results do not depend on the thread count.
 *
 * Reference: `matmul`, `matmulTransposed` and `matmulBackward` of backend.ts (TsBackend: the plain
 * triple loop, C[i,j] = sum_k A[i,k] B[k,j]). Tests: "matmul and matmulBackward match TsBackend at
 * odd and tiny shapes, 1 and 2 threads", "... at the model's shapes", "the multiply-then-add kernels
 * (no relaxed SIMD) match TsBackend too" (test/engine/wasm-backend.test.ts); bench/kernels.ts times it.
 */
import { GEMM_MODE } from "../kernels.js";
import type { GemmConfig } from "../tiles.js";
import { add, at4, forLoop, get, i32, kernelFunc, locals, madd, mul, set, share } from "./util.js";

/** WAT for the micro-kernel, packers and drivers. `fma` selects relaxed fused multiply-add. */
export function gemmWat(cfg: GemmConfig, fma: boolean): string {
  return [
    microKernel(cfg, fma),
    packARows(cfg),
    packATrans(cfg),
    packBRows(cfg),
    packBTrans(cfg),
    gemmDriver(cfg),
  ].join("\n");
}

function microKernel(cfg: GemmConfig, fma: boolean): string {
  const { mr: MR, nv: NV, unroll: U } = cfg;
  const NR = NV * 4;
  const acc: string[] = [];
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) acc.push(`c${r}_${v}`);
  const rowPtr = (r: number): string => (r === 0 ? get("c") : get(`cr${r}`));
  const step = (u: number): string => {
    const lines: string[] = [];
    for (let v = 0; v < NV; v++) lines.push(set(`b${v}`, `(v128.load offset=${(u * NR + 4 * v) * 4} ${get("pb")})`));
    for (let r = 0; r < MR; r++) {
      lines.push(set("a", `(v128.load32_splat offset=${(u * MR + r) * 4} ${get("pa")})`));
      for (let v = 0; v < NV; v++) lines.push(set(`c${r}_${v}`, madd(get("a"), get(`b${v}`), get(`c${r}_${v}`), fma)));
    }
    return lines.join("\n");
  };
  const loop = (u: number, label: string): string => `(block $${label}_end (loop $${label}
    (br_if $${label}_end (i32.lt_s ${get("k")} ${i32(u)}))
    ${Array.from({ length: u }, (_, i) => step(i)).join("\n")}
    ${set("pa", add(get("pa"), i32(u * MR * 4)))}
    ${set("pb", add(get("pb"), i32(u * NR * 4)))}
    ${set("k", `(i32.sub ${get("k")} ${i32(u)})`)}
    (br $${label})))`;
  const preload: string[] = [];
  const preloadBias: string[] = [];
  const storeFull: string[] = [];
  const storeTmp: string[] = [];
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) {
      preload.push(set(`c${r}_${v}`, `(v128.load offset=${16 * v} ${rowPtr(r)})`));
      preloadBias.push(set(`c${r}_${v}`, `(v128.load offset=${16 * v} ${get("bias")})`));
      storeFull.push(`(v128.store offset=${16 * v} ${rowPtr(r)} ${get(`c${r}_${v}`)})`);
      storeTmp.push(`(v128.store offset=${(r * NR + 4 * v) * 4} ${get("tmp")} ${get(`c${r}_${v}`)})`);
    }
  }
  const rowPtrs: string[] = [];
  for (let r = 1; r < MR; r++) rowPtrs.push(set(`cr${r}`, add(r === 1 ? get("c") : get(`cr${r - 1}`), get("ldc"))));
  return `
;; C tile [mr<=MR, nr<=NR] at byte pointer c (row stride ldc bytes) from packed A sliver pa and packed
;; B panel pb over kc steps. init: 0 overwrite, 1 accumulate into C, 2 start from bias (row vector).
(func $mk (param $pa i32) (param $pb i32) (param $kc i32) (param $c i32) (param $ldc i32)
  (param $mr i32) (param $nr i32) (param $init i32) (param $bias i32) (param $tmp i32)
  ${locals("v128", [...acc, "a", ...Array.from({ length: NV }, (_, v) => `b${v}`)])}
  ${locals("i32", ["k", "r", "j", "p", "full", ...Array.from({ length: MR - 1 }, (_, r) => `cr${r + 1}`)])}
  (local $x f32)
  ${rowPtrs.join("\n")}
  ${set("full", `(i32.and (i32.eq ${get("mr")} ${i32(MR)}) (i32.eq ${get("nr")} ${i32(NR)}))`)}
  (if ${get("full")} (then
    (if (i32.eq ${get("init")} ${i32(1)}) (then ${preload.join("\n")}))
    (if (i32.eq ${get("init")} ${i32(2)}) (then ${preloadBias.join("\n")}))))
  ${set("k", get("kc"))}
  ${U > 1 ? loop(U, "ku") : ""}
  ${loop(1, "k1")}
  (if ${get("full")} (then ${storeFull.join("\n")} (return)))
  ;; partial tile: spill the registers to tmp and copy the valid part
  ${storeTmp.join("\n")}
  ${forLoop(
    "r",
    i32(0),
    get("mr"),
    1,
    forLoop(
      "j",
      i32(0),
      get("nr"),
      1,
      `
      ${set("p", add(add(get("c"), mul(get("r"), get("ldc"))), `(i32.shl ${get("j")} (i32.const 2))`))}
      ${set("x", `(f32.load ${at4(get("tmp"), add(mul(get("r"), i32(NR)), get("j")))})`)}
      (if (i32.eq ${get("init")} ${i32(1)}) (then ${set("x", `(f32.add ${get("x")} (f32.load ${get("p")}))`)}))
      (if (i32.eq ${get("init")} ${i32(2)}) (then ${set("x", `(f32.add ${get("x")} (f32.load ${at4(get("bias"), get("j"))}))`)}))
      (f32.store ${get("p")} ${get("x")})`,
      "mkj",
    ),
    "mkr",
  )})`;
}

/**
 * Packs rows [0,rows) x k [0,kc) of a row-major A (src at A[m0,kb], row stride lda bytes) into MR-row
 * slivers, k-major. Full slivers move 4 rows x 4 k with a transpose (and a leftover pair of rows
 * with a zip); partial slivers and the k tail go element by element, zero padded.
 */
function packARows(cfg: GemmConfig): string {
  const MR = cfg.mr;
  const vec: string[] = [];
  const groups = Math.floor(MR / 4);
  const row = (r: number): string => `(i32.add ${get("s")} (i32.mul ${get("lda")} ${i32(r)}))`;
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < 4; r++) vec.push(set(`x${r}`, `(v128.load ${row(4 * g + r)})`));
    vec.push(transpose4());
    for (let r = 0; r < 4; r++) vec.push(`(v128.store offset=${(r * MR + 4 * g) * 4} ${get("d")} ${get(`y${r}`)})`);
  }
  let rest = 4 * groups;
  if (MR - rest >= 2) {
    // rows rest, rest+1: zip into (a0 b0 a1 b1) (a2 b2 a3 b3), one 64-bit lane per k
    vec.push(set("x0", `(v128.load ${row(rest)})`), set("x1", `(v128.load ${row(rest + 1)})`));
    vec.push(
      set("t0", shuffle32(get("x0"), get("x1"), [0, 4, 1, 5])),
      set("t1", shuffle32(get("x0"), get("x1"), [2, 6, 3, 7])),
    );
    for (let k = 0; k < 4; k++)
      vec.push(`(v128.store64_lane offset=${(k * MR + rest) * 4} ${k % 2} ${get("d")} ${get(k < 2 ? "t0" : "t1")})`);
    rest += 2;
  }
  for (; rest < MR; rest++) {
    for (let k = 0; k < 4; k++)
      vec.push(`(f32.store offset=${(k * MR + rest) * 4} ${get("d")} (f32.load offset=${4 * k} ${row(rest)}))`);
  }
  return `
(func $packA_rows (param $dst i32) (param $src i32) (param $lda i32) (param $rows i32) (param $kc i32)
  ${locals("i32", ["i", "r", "k", "s", "d", "row", "k4"])}
  ${TRANSPOSE_LOCALS}
  ${forLoop(
    "i",
    i32(0),
    get("rows"),
    MR,
    `
    ${set("k4", i32(0))}
    (if (i32.le_s (i32.add ${get("i")} ${i32(MR)}) ${get("rows")}) (then
      ${set("k4", `(i32.and ${get("kc")} (i32.const -4))`)}
      ${set("s", add(get("src"), mul(get("i"), get("lda"))))}
      ${set("d", at4(get("dst"), mul(get("i"), get("kc"))))}
      ${forLoop(
        "k",
        i32(0),
        get("k4"),
        4,
        `${vec.join("\n")}
        ${set("s", add(get("s"), i32(16)))} ${set("d", add(get("d"), i32(4 * MR * 4)))}`,
        "pav",
      )}))
    ${forLoop(
      "r",
      i32(0),
      i32(MR),
      1,
      `
    ${set("row", add(get("i"), get("r")))}
    ${set("d", at4(get("dst"), add(add(mul(get("i"), get("kc")), mul(get("k4"), i32(MR))), get("r"))))}
    (if (i32.lt_s ${get("row")} ${get("rows")}) (then
      ${set("s", add(add(get("src"), mul(get("row"), get("lda"))), `(i32.shl ${get("k4")} (i32.const 2))`))}
      ${forLoop(
        "k",
        get("k4"),
        get("kc"),
        1,
        `
        (f32.store ${get("d")} (f32.load ${get("s")}))
        ${set("s", add(get("s"), i32(4)))}
        ${set("d", add(get("d"), i32(MR * 4)))}`,
        "pak",
      )})
    (else
      ${forLoop(
        "k",
        get("k4"),
        get("kc"),
        1,
        `
        (f32.store ${get("d")} (f32.const 0))
        ${set("d", add(get("d"), i32(MR * 4)))}`,
        "paz",
      )}))`,
      "par",
    )}`,
    "pai",
  )})`;
}

/** Packs A' = X^T: rows m [0,rows) (columns of X) x t [0,kc) (rows of X); src at X[kb,m0], stride lda bytes. */
function packATrans(cfg: GemmConfig): string {
  const MR = cfg.mr;
  // copy MR consecutive floats: v128 moves, then an i64 move for a pair, then single floats
  const copies: string[] = [];
  let off = 0;
  for (; off + 4 <= MR; off += 4)
    copies.push(`(v128.store offset=${off * 4} ${get("d")} (v128.load offset=${off * 4} ${get("s")}))`);
  if (off + 2 <= MR) {
    copies.push(`(i64.store offset=${off * 4} ${get("d")} (i64.load offset=${off * 4} ${get("s")}))`);
    off += 2;
  }
  for (; off < MR; off++)
    copies.push(`(f32.store offset=${off * 4} ${get("d")} (f32.load offset=${off * 4} ${get("s")}))`);
  const fullCopy = copies.join(" ");
  return `
(func $packA_trans (param $dst i32) (param $src i32) (param $lda i32) (param $rows i32) (param $kc i32)
  ${locals("i32", ["i", "r", "t", "s", "d", "n"])}
  ${forLoop(
    "i",
    i32(0),
    get("rows"),
    MR,
    `
    ${set("d", at4(get("dst"), mul(get("i"), get("kc"))))}
    ${set("n", `(i32.sub ${get("rows")} ${get("i")})`)}
    (if (i32.ge_s ${get("n")} ${i32(MR)}) (then
      ${forLoop(
        "t",
        i32(0),
        get("kc"),
        1,
        `
        ${set("s", add(at4(get("src"), get("i")), mul(get("t"), get("lda"))))}
        ${fullCopy}
        ${set("d", add(get("d"), i32(MR * 4)))}`,
        "ptf",
      )})
    (else
      ${forLoop(
        "t",
        i32(0),
        get("kc"),
        1,
        `
        ${set("s", add(at4(get("src"), get("i")), mul(get("t"), get("lda"))))}
        ${forLoop(
          "r",
          i32(0),
          i32(MR),
          1,
          `
          (f32.store ${at4(get("d"), get("r"))}
            (if (result f32) (i32.lt_s ${get("r")} ${get("n")}) (then (f32.load ${at4(get("s"), get("r"))})) (else (f32.const 0))))`,
          "ptr",
        )}
        ${set("d", add(get("d"), i32(MR * 4)))}`,
        "ptp",
      )}))`,
    "pti",
  )})`;
}

/**
 * Packs a B panel: k [0,kc) x columns [0,nr) of a row-major B (src at B[kb,j], stride ldb bytes) into
 * k-major rows of NR values (zero padded). When dbias is not 0, adds the column sums to dbias[0..nr).
 */
function packBRows(cfg: GemmConfig): string {
  const NV = cfg.nv;
  const NR = NV * 4;
  const copy: string[] = [];
  const sums: string[] = [];
  for (let v = 0; v < NV; v++) {
    copy.push(set(`x${v}`, `(v128.load offset=${16 * v} ${get("s")})`));
    copy.push(`(v128.store offset=${16 * v} ${get("d")} ${get(`x${v}`)})`);
    copy.push(set(`s${v}`, `(f32x4.add ${get(`s${v}`)} ${get(`x${v}`)})`));
    sums.push(
      `(v128.store offset=${16 * v} ${get("dbias")} (f32x4.add (v128.load offset=${16 * v} ${get("dbias")}) ${get(`s${v}`)}))`,
    );
  }
  return `
(func $packB_rows (param $dst i32) (param $src i32) (param $ldb i32) (param $kc i32) (param $nr i32) (param $dbias i32)
  ${locals("i32", ["k", "j", "s", "d"])}
  ${locals("v128", [...Array.from({ length: NV }, (_, v) => `x${v}`), ...Array.from({ length: NV }, (_, v) => `s${v}`)])}
  (local $x f32) (local $sum f32)
  (if (i32.eq ${get("nr")} ${i32(NR)}) (then
    ${set("s", get("src"))} ${set("d", get("dst"))}
    ${forLoop(
      "k",
      i32(0),
      get("kc"),
      1,
      `${copy.join("\n")}
      ${set("s", add(get("s"), get("ldb")))} ${set("d", add(get("d"), i32(NR * 4)))}`,
      "pbf",
    )}
    (if ${get("dbias")} (then ${sums.join("\n")}))
    (return)))
  ${forLoop(
    "j",
    i32(0),
    i32(NR),
    1,
    `
    ${set("s", at4(get("src"), get("j")))} ${set("d", at4(get("dst"), get("j")))}
    ${set("sum", "(f32.const 0)")}
    ${forLoop(
      "k",
      i32(0),
      get("kc"),
      1,
      `
      ${set("x", `(if (result f32) (i32.lt_s ${get("j")} ${get("nr")}) (then (f32.load ${get("s")})) (else (f32.const 0)))`)}
      (f32.store ${get("d")} ${get("x")})
      ${set("sum", `(f32.add ${get("sum")} ${get("x")})`)}
      ${set("s", add(get("s"), get("ldb")))} ${set("d", add(get("d"), i32(NR * 4)))}`,
      "pbk",
    )}
    (if (i32.and (i32.ne ${get("dbias")} (i32.const 0)) (i32.lt_s ${get("j")} ${get("nr")})) (then
      (f32.store ${at4(get("dbias"), get("j"))} (f32.add (f32.load ${at4(get("dbias"), get("j"))}) ${get("sum")}))))`,
    "pbj",
  )})`;
}

/** i8x16.shuffle picking 32-bit lanes (0-3 from a, 4-7 from b). */
function shuffle32(a: string, b: string, lanes: number[]): string {
  const bytes = lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  return `(i8x16.shuffle ${bytes.join(" ")} ${a} ${b})`;
}

/** Statements transposing the 4x4 block held in locals x0..x3 into y0..y3 (t0..t3 temporaries). */
function transpose4(): string {
  return [
    set("t0", shuffle32(get("x0"), get("x1"), [0, 4, 1, 5])),
    set("t1", shuffle32(get("x0"), get("x1"), [2, 6, 3, 7])),
    set("t2", shuffle32(get("x2"), get("x3"), [0, 4, 1, 5])),
    set("t3", shuffle32(get("x2"), get("x3"), [2, 6, 3, 7])),
    set("y0", shuffle32(get("t0"), get("t2"), [0, 1, 4, 5])),
    set("y1", shuffle32(get("t0"), get("t2"), [2, 3, 6, 7])),
    set("y2", shuffle32(get("t1"), get("t3"), [0, 1, 4, 5])),
    set("y3", shuffle32(get("t1"), get("t3"), [2, 3, 6, 7])),
  ].join(" ");
}

const TRANSPOSE_LOCALS = locals("v128", ["x0", "x1", "x2", "x3", "t0", "t1", "t2", "t3", "y0", "y1", "y2", "y3"]);

/**
 * Packs a panel of B' = W^T: n [0,kc) x columns c [0,nr) with B'[n][c] = W[j+c, kb+n] (src at W[j,kb],
 * stride ldb bytes). Full panels move 4x4 blocks with shuffles; the rest goes element by element.
 */
function packBTrans(cfg: GemmConfig): string {
  const NV = cfg.nv;
  const NR = NV * 4;
  const blocks: string[] = [];
  for (let g = 0; g < NV; g++) {
    for (let r = 0; r < 4; r++)
      blocks.push(set(`x${r}`, `(v128.load (i32.add ${get("s")} (i32.mul ${get("ldb")} ${i32(4 * g + r)})))`));
    blocks.push(transpose4());
    for (let r = 0; r < 4; r++) blocks.push(`(v128.store offset=${(r * NR + 4 * g) * 4} ${get("d")} ${get(`y${r}`)})`);
  }
  return `
(func $packB_trans (param $dst i32) (param $src i32) (param $ldb i32) (param $kc i32) (param $nr i32)
  ${locals("i32", ["n", "c", "s", "d", "n4"])}
  ${TRANSPOSE_LOCALS}
  ${set("n4", "(i32.const 0)")}
  (if (i32.eq ${get("nr")} ${i32(NR)}) (then
    ${set("n4", `(i32.and ${get("kc")} (i32.const -4))`)}
    ${set("s", get("src"))} ${set("d", get("dst"))}
    ${forLoop(
      "n",
      i32(0),
      get("n4"),
      4,
      `${blocks.join("\n")}
      ${set("s", add(get("s"), i32(16)))} ${set("d", add(get("d"), i32(4 * NR * 4)))}`,
      "ptv",
    )}))
  ${forLoop(
    "c",
    i32(0),
    i32(NR),
    1,
    `
    ${set("d", at4(get("dst"), add(mul(get("n4"), i32(NR)), get("c"))))}
    (if (i32.lt_s ${get("c")} ${get("nr")}) (then
      ${set("s", add(add(get("src"), mul(get("c"), get("ldb"))), `(i32.shl ${get("n4")} (i32.const 2))`))}
      ${forLoop(
        "n",
        get("n4"),
        get("kc"),
        1,
        `
        (f32.store ${get("d")} (f32.load ${get("s")}))
        ${set("s", add(get("s"), i32(4)))} ${set("d", add(get("d"), i32(NR * 4)))}`,
        "ptn",
      )})
    (else
      ${forLoop(
        "n",
        get("n4"),
        get("kc"),
        1,
        `
        (f32.store ${get("d")} (f32.const 0))
        ${set("d", add(get("d"), i32(NR * 4)))}`,
        "ptz",
      )}))`,
    "ptc",
  )})`;
}

/**
 * The product job (arguments in kernels.ts): pointers are byte offsets, leading dimensions are in
 * elements; rows (or, with splitCols, columns) of C are split between threads in whole tiles.
 */
function gemmDriver(cfg: GemmConfig): string {
  const { mr: MR, kc: KC, nc: NC } = cfg;
  const NR = cfg.nv * 4;
  if (NC % NR !== 0) throw new Error(`gemm config: nc=${NC} must be a multiple of ${NR}`);
  return kernelFunc(
    "gemm",
    locals("i32", [
      "m0",
      "m1",
      "n0",
      "n1",
      "tiles",
      "ap",
      "bp",
      "tmp",
      "kb",
      "kc",
      "i",
      "j",
      "init",
      "db",
      "nr",
      "mr",
      "jc",
      "jend",
      "bpj",
      "api",
    ]),
    `${set("ap", add(get("scratch"), mul(get("tid"), get("scratchStride"))))}
  ${set("m0", i32(0))} ${set("m1", get("M"))} ${set("n0", i32(0))} ${set("n1", get("N"))}
  (if ${get("splitCols")} (then
    ${set("tiles", `(i32.div_u (i32.add ${get("N")} ${i32(NR - 1)}) ${i32(NR)})`)}
    ${share("n0", "n1", get("tiles"))}
    ${set("n0", mul(get("n0"), i32(NR)))} ${set("n1", mul(get("n1"), i32(NR)))}
    (if (i32.gt_s ${get("n1")} ${get("N")}) (then ${set("n1", get("N"))})))
  (else
    ${set("tiles", `(i32.div_u (i32.add ${get("M")} ${i32(MR - 1)}) ${i32(MR)})`)}
    ${share("m0", "m1", get("tiles"))}
    ${set("m0", mul(get("m0"), i32(MR)))} ${set("m1", mul(get("m1"), i32(MR)))}
    (if (i32.gt_s ${get("m1")} ${get("M")}) (then ${set("m1", get("M"))}))))
  (if (i32.or (i32.ge_s ${get("m0")} ${get("m1")}) (i32.ge_s ${get("n0")} ${get("n1")})) (then (return)))
  ${set("bp", add(get("ap"), mul(`(i32.div_u (i32.add (i32.sub ${get("m1")} ${get("m0")}) ${i32(MR - 1)}) ${i32(MR)})`, i32(MR * KC * 4))))}
  ${set("tmp", add(get("bp"), i32(KC * NC * 4)))}
  ;; column sums of dout for dbias: done by the thread that owns row 0 (or each column's owner)
  ${set(
    "db",
    `(if (result i32)
      (i32.and (i32.eq ${get("mode")} ${i32(GEMM_MODE.weightGradient)})
        (i32.and (i32.ne ${get("dbias")} (i32.const 0)) (i32.or ${get("splitCols")} (i32.eqz ${get("m0")}))))
      (then ${get("dbias")}) (else (i32.const 0)))`,
  )}
  ${forLoop(
    "kb",
    i32(0),
    get("K"),
    KC,
    `
    ${set("kc", `(i32.sub ${get("K")} ${get("kb")})`)}
    (if (i32.gt_s ${get("kc")} ${i32(KC)}) (then ${set("kc", i32(KC))}))
    (if (i32.eq ${get("mode")} ${i32(GEMM_MODE.weightGradient)})
      (then (call $packA_trans ${get("ap")} ${at4(get("A"), add(mul(get("kb"), get("lda")), get("m0")))}
        (i32.shl ${get("lda")} (i32.const 2)) (i32.sub ${get("m1")} ${get("m0")}) ${get("kc")}))
      (else (call $packA_rows ${get("ap")} ${at4(get("A"), add(mul(get("m0"), get("lda")), get("kb")))}
        (i32.shl ${get("lda")} (i32.const 2)) (i32.sub ${get("m1")} ${get("m0")}) ${get("kc")})))
    ${set(
      "init",
      `(if (result i32) (i32.or ${get("accumulate")} (i32.gt_s ${get("kb")} (i32.const 0)))
        (then (i32.const 1))
        (else (if (result i32) ${get("bias")} (then (i32.const 2)) (else (i32.const 0)))))`,
    )}
    ${forLoop(
      "jc",
      get("n0"),
      get("n1"),
      NC,
      `
      ${set("jend", add(get("jc"), i32(NC)))}
      (if (i32.gt_s ${get("jend")} ${get("n1")}) (then ${set("jend", get("n1"))}))
      ${forLoop(
        "j",
        get("jc"),
        get("jend"),
        NR,
        `
        ${set("nr", `(i32.sub ${get("jend")} ${get("j")})`)}
        (if (i32.gt_s ${get("nr")} ${i32(NR)}) (then ${set("nr", i32(NR))}))
        ${set("bpj", add(get("bp"), mul(`(i32.sub ${get("j")} ${get("jc")})`, mul(get("kc"), i32(4)))))}
        (if (i32.eq ${get("mode")} ${i32(GEMM_MODE.productTransposedB)})
          (then (call $packB_trans ${get("bpj")} ${at4(get("B"), add(mul(get("j"), get("ldb")), get("kb")))}
            (i32.shl ${get("ldb")} (i32.const 2)) ${get("kc")} ${get("nr")}))
          (else (call $packB_rows ${get("bpj")} ${at4(get("B"), add(mul(get("kb"), get("ldb")), get("j")))}
            (i32.shl ${get("ldb")} (i32.const 2)) ${get("kc")} ${get("nr")}
            (if (result i32) ${get("db")} (then ${at4(get("db"), get("j"))}) (else (i32.const 0))))))`,
        "gp",
      )}
      ${forLoop(
        "i",
        get("m0"),
        get("m1"),
        MR,
        `
        ${set("mr", `(select (i32.sub ${get("m1")} ${get("i")}) ${i32(MR)} (i32.lt_s (i32.sub ${get("m1")} ${get("i")}) ${i32(MR)}))`)}
        ${set("api", at4(get("ap"), mul(`(i32.sub ${get("i")} ${get("m0")})`, get("kc"))))}
        ${forLoop(
          "j",
          get("jc"),
          get("jend"),
          NR,
          `
          (call $mk ${get("api")} ${add(get("bp"), mul(`(i32.sub ${get("j")} ${get("jc")})`, mul(get("kc"), i32(4))))} ${get("kc")}
            ${at4(get("C"), add(mul(get("i"), get("ldc")), get("j")))} (i32.shl ${get("ldc")} (i32.const 2))
            ${get("mr")} (select (i32.sub ${get("jend")} ${get("j")}) ${i32(NR)} (i32.lt_s (i32.sub ${get("jend")} ${get("j")}) ${i32(NR)}))
            ${get("init")} ${at4(get("bias"), get("j"))} ${get("tmp")})`,
          "gj",
        )}`,
        "gi",
      )}`,
      "gc",
    )}`,
    "gk",
  )}`,
  );
}
