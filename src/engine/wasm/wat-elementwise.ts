/**
 * WebAssembly text for the light, memory-bound kernels: scaling and scaled sum (axpy), dropout (alone, fused with a residual
 * sum, fused after a ReLU), the ReLU backward, the embedding lookup, and row gather / scatter-add.
 * Same contracts as backend.ts / TsBackend, and the same float32 steps (a product rounded before a
 * sum, no fused multiply-add), so the results are bit-for-bit those of TsBackend.
 *
 * Threads: elementwise kernels split [0, n) into contiguous chunks (starts multiples of 4, the last
 * thread takes the tail); the embedding and the gather split rows; the scatter-add splits columns, so
 * that repeated rows never meet in two threads and every element adds its rows in order.
 *
 * Dropout masks are counter-based (see `dropoutHash` in backend.ts): lane i of a vector hashes its
 * global index, computed as a Weyl sequence (i * golden ratio, advanced by 4 * golden per vector), so
 * the mask does not depend on the chunking.
 */
import { argF, argI, at4, get, i32, locals, set } from "./wat-util.js";

const GOLDEN = 0x9e3779b9 | 0;
const M1 = 0x85ebca6b | 0;
const M2 = 0xc2b2ae35 | 0;
const ZERO = "(v128.const i32x4 0 0 0 0)";
const ALL = "(v128.const i32x4 -1 -1 -1 -1)";

/** Element address `base + 4 * i` for locals base and i. */
const el = (base: string, i = "i"): string => at4(get(base), get(i));

/** Scalar dropoutHash(seed, i) as a function; the SIMD loops inline the same steps. */
function hashFunc(): string {
  return `
(func $dhash (param $seed i32) (param $i i32) (result i32)
  (local $h i32)
  ${set("h", `(i32.xor ${get("seed")} (i32.mul ${get("i")} ${i32(GOLDEN)}))`)}
  ${set("h", `(i32.mul (i32.xor ${get("h")} (i32.shr_u ${get("h")} (i32.const 16))) ${i32(M1)})`)}
  ${set("h", `(i32.mul (i32.xor ${get("h")} (i32.shr_u ${get("h")} (i32.const 13))) ${i32(M2)})`)}
  (i32.xor ${get("h")} (i32.shr_u ${get("h")} (i32.const 16))))`;
}

/** Statements leaving in $km the keep mask (all ones per kept lane) of the lanes whose i * golden is in $w; advances $w. */
function keepMask(): string {
  return `${set("h", `(v128.xor ${get("w")} ${get("seedv")})`)}
      ${set("h", `(i32x4.mul (v128.xor ${get("h")} (i32x4.shr_u ${get("h")} (i32.const 16))) (i32x4.splat ${i32(M1)}))`)}
      ${set("h", `(i32x4.mul (v128.xor ${get("h")} (i32x4.shr_u ${get("h")} (i32.const 13))) (i32x4.splat ${i32(M2)}))`)}
      ${set("h", `(v128.xor ${get("h")} (i32x4.shr_u ${get("h")} (i32.const 16)))`)}
      ${set("km", `(i32x4.ge_u ${get("h")} ${get("thv")})`)}
      ${set("w", `(i32x4.add ${get("w")} (i32x4.splat ${i32(4 * GOLDEN)}))`)}`;
}

/** Scalar keep flag of element $i into $k (1 kept). */
const keepScalar = (): string => set("k", `(i32.ge_u (call $dhash ${get("seed")} ${get("i")}) ${get("th")})`);

interface ElementwiseSpec {
  name: string;
  /** i32 arguments, in order; must include 'n'; dropout kernels also 'seed' and 'th' (threshold). */
  args: string[];
  /** Reads f64 argument 0 as the f32 scale $s (and its splat $sv). */
  scale: boolean;
  /** Whether the kernel draws a dropout mask (skipped entirely when th is 0). */
  dropout: boolean;
  /** Vector body for lanes i..i+3; with a mask, $km holds it (all ones when th is 0 and the mask is off). */
  vec: (masked: boolean) => string;
  /** Scalar body for element i; with a mask, $k holds the keep flag. */
  scalar: (masked: boolean) => string;
}

/** A chunked elementwise kernel (args from the control block, see ElementwiseSpec). */
function elementwise(spec: ElementwiseSpec): string {
  const loops = (masked: boolean, label: string): string => `
    ${set("i", get("a"))}
    ${masked ? set("w", `(i32x4.mul (i32x4.add (i32x4.splat ${get("a")}) (v128.const i32x4 0 1 2 3)) (i32x4.splat ${i32(GOLDEN)}))`) : ""}
    (block $${label}_ve (loop $${label}_v
      (br_if $${label}_ve (i32.ge_s ${get("i")} ${get("b4")}))
      ${masked ? keepMask() : ""}
      ${spec.vec(masked)}
      ${set("i", `(i32.add ${get("i")} (i32.const 4))`)}
      (br $${label}_v)))
    (block $${label}_se (loop $${label}_s
      (br_if $${label}_se (i32.ge_s ${get("i")} ${get("b")}))
      ${masked ? keepScalar() : ""}
      ${spec.scalar(masked)}
      ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
      (br $${label}_s)))`;
  const extra = spec.dropout ? [] : ["seed", "th"];
  return `
(func $${spec.name} (param $tid i32) (param $nth i32)
  ${locals("i32", [...spec.args, ...extra, "a", "b", "b4", "i", "k"])}
  (local $s f32)
  ${locals("v128", ["sv", "w", "h", "km", "seedv", "thv", "x", "zero"])}
  ${spec.args.map((nm, j) => set(nm, argI(j))).join(" ")}
  ${spec.scale ? `${set("s", `(f32.demote_f64 ${argF(0)})`)} ${set("sv", `(f32x4.splat ${get("s")})`)}` : ""}
  ${set("zero", ZERO)} ${set("km", ALL)} ${set("k", i32(1))}
  ${set("seedv", `(i32x4.splat ${get("seed")})`)} ${set("thv", `(i32x4.splat ${get("th")})`)}
  ${set("a", `(i32.and (call $part ${get("n")} ${get("tid")} ${get("nth")}) (i32.const -4))`)}
  ${set("b", `(if (result i32) (i32.eq (i32.add ${get("tid")} (i32.const 1)) ${get("nth")}) (then ${get("n")}) (else (i32.and (call $part ${get("n")} (i32.add ${get("tid")} (i32.const 1)) ${get("nth")}) (i32.const -4))))`)}
  ${set("b4", `(i32.add ${get("a")} (i32.and (i32.sub ${get("b")} ${get("a")}) (i32.const -4)))`)}
  ${spec.dropout ? `(if ${get("th")} (then ${loops(true, "m")}) (else ${loops(false, "p")}))` : loops(false, "p")})`;
}

/** Args: 0 out, 1 x, 2 n; f64 0 w. out = w * x (out may be x). */
const scaleKernel = (): string =>
  elementwise({
    name: "ew_scale",
    args: ["out", "px", "n"],
    scale: true,
    dropout: false,
    vec: () => `(v128.store ${el("out")} (f32x4.mul (v128.load ${el("px")}) ${get("sv")}))`,
    scalar: () => `(f32.store ${el("out")} (f32.mul (f32.load ${el("px")}) ${get("s")}))`,
  });

/** Args: 0 out, 1 x, 2 n; f64 0 w. out = out + w * x (product rounded, then the sum: no fused multiply-add). */
const scaleAddKernel = (): string =>
  elementwise({
    name: "ew_scale_add",
    args: ["out", "px", "n"],
    scale: true,
    dropout: false,
    vec: () =>
      `(v128.store ${el("out")} (f32x4.add (v128.load ${el("out")}) (f32x4.mul (v128.load ${el("px")}) ${get("sv")})))`,
    scalar: () =>
      `(f32.store ${el("out")} (f32.add (f32.load ${el("out")}) (f32.mul (f32.load ${el("px")}) ${get("s")})))`,
  });

/** Args: 0 out, 1 inp, 2 n, 3 seed, 4 threshold; f64 0 scale. out = keep ? inp * s : 0. */
const dropoutKernel = (): string =>
  elementwise({
    name: "ew_dropout",
    args: ["out", "inp", "n", "seed", "th"],
    scale: true,
    dropout: true,
    vec: () => `(v128.store ${el("out")} (v128.and (f32x4.mul (v128.load ${el("inp")}) ${get("sv")}) ${get("km")}))`,
    scalar: () =>
      `(f32.store ${el("out")} (select (f32.mul (f32.load ${el("inp")}) ${get("s")}) (f32.const 0) ${get("k")}))`,
  });

/** Args: 0 out, 1 a, 2 b, 3 n, 4 seed, 5 threshold; f64 0 scale. out = a + (keep ? b * s : 0). */
const addDropoutKernel = (): string =>
  elementwise({
    name: "ew_add_dropout",
    args: ["out", "pa", "pb", "n", "seed", "th"],
    scale: true,
    dropout: true,
    vec: () =>
      `(v128.store ${el("out")} (f32x4.add (v128.load ${el("pa")}) (v128.and (f32x4.mul (v128.load ${el("pb")}) ${get("sv")}) ${get("km")})))`,
    scalar: () =>
      `(f32.store ${el("out")} (f32.add (f32.load ${el("pa")}) (select (f32.mul (f32.load ${el("pb")}) ${get("s")}) (f32.const 0) ${get("k")})))`,
  });

/** Args: 0 x, 1 n, 2 seed, 3 threshold; f64 0 scale. x = (x > 0 and keep) ? x * s : 0. */
const reluDropoutKernel = (): string =>
  elementwise({
    name: "ew_relu_dropout",
    args: ["px", "n", "seed", "th"],
    scale: true,
    dropout: true,
    vec: () => `${set("x", `(v128.load ${el("px")})`)}
      (v128.store ${el("px")} (v128.and (f32x4.mul ${get("x")} ${get("sv")}) (v128.and (f32x4.gt ${get("x")} ${get("zero")}) ${get("km")})))`,
    scalar: () => `(f32.store ${el("px")} (select (f32.mul (f32.load ${el("px")}) ${get("s")}) (f32.const 0)
      (i32.and (f32.gt (f32.load ${el("px")}) (f32.const 0)) ${get("k")})))`,
  });

/** Args: 0 d, 1 y, 2 n; f64 0 scale. d = y > 0 ? d * s : 0. */
const reluBackwardKernel = (): string =>
  elementwise({
    name: "ew_relu_bwd",
    args: ["pd", "py", "n"],
    scale: true,
    dropout: false,
    vec: () =>
      `(v128.store ${el("pd")} (v128.and (f32x4.mul (v128.load ${el("pd")}) ${get("sv")}) (f32x4.gt (v128.load ${el("py")}) ${get("zero")})))`,
    scalar: () =>
      `(f32.store ${el("pd")} (select (f32.mul (f32.load ${el("pd")}) ${get("s")}) (f32.const 0) (f32.gt (f32.load ${el("py")}) (f32.const 0))))`,
  });

/** `for c in [from, to)`: vector steps of 4 while they fit, then single elements. */
function columns(from: string, to: string, label: string, vec: string, scalar: string): string {
  return `${set("c", from)}
    ${set("c4", `(i32.add ${get("c")} (i32.and (i32.sub ${to} ${get("c")}) (i32.const -4)))`)}
    (block $${label}_ve (loop $${label}_v
      (br_if $${label}_ve (i32.ge_s ${get("c")} ${get("c4")}))
      ${vec}
      ${set("c", `(i32.add ${get("c")} (i32.const 4))`)}
      (br $${label}_v)))
    (block $${label}_se (loop $${label}_s
      (br_if $${label}_se (i32.ge_s ${get("c")} ${to}))
      ${scalar}
      ${set("c", `(i32.add ${get("c")} (i32.const 1))`)}
      (br $${label}_s)))`;
}

/** Start of thread tid's share: rows t..t1 of T. */
const rowShare = (T: string): string => `${set("t", `(call $part ${get(T)} ${get("tid")} ${get("nth")})`)}
  ${set("t1", `(call $part ${get(T)} (i32.add ${get("tid")} (i32.const 1)) ${get("nth")})`)}`;

/** Args: 0 out, 1 ids, 2 positions, 3 table, 4 pe, 5 T, 6 C; f64 0 scale. Rows split. */
function embeddingForward(): string {
  return `
(func $embed_fwd (param $tid i32) (param $nth i32)
  ${locals("i32", ["out", "ids", "pos", "table", "pe", "T", "C", "t", "t1", "c", "c4", "o", "e", "q"])}
  (local $s f32) (local $sv v128)
  ${["out", "ids", "pos", "table", "pe", "T", "C"].map((nm, j) => set(nm, argI(j))).join(" ")}
  ${set("s", `(f32.demote_f64 ${argF(0)})`)} ${set("sv", `(f32x4.splat ${get("s")})`)}
  ${rowShare("T")}
  (block $done (loop $rows
    (br_if $done (i32.ge_s ${get("t")} ${get("t1")}))
    ${set("o", `(i32.add ${get("out")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("e", `(i32.add ${get("table")} (i32.shl (i32.mul (i32.load ${el("ids", "t")}) ${get("C")}) (i32.const 2)))`)}
    ${set("q", `(i32.add ${get("pe")} (i32.shl (i32.mul (i32.load ${el("pos", "t")}) ${get("C")}) (i32.const 2)))`)}
    ${columns(
      i32(0),
      get("C"),
      "cl",
      `(v128.store ${el("o", "c")} (f32x4.add (f32x4.mul (v128.load ${el("e", "c")}) ${get("sv")}) (v128.load ${el("q", "c")})))`,
      `(f32.store ${el("o", "c")} (f32.add (f32.mul (f32.load ${el("e", "c")}) ${get("s")}) (f32.load ${el("q", "c")})))`,
    )}
    ${set("t", `(i32.add ${get("t")} (i32.const 1))`)}
    (br $rows))))`;
}

/** Args: 0 out, 1 inp, 2 rows, 3 R, 4 C. Rows split; a row is one memory.copy. */
function gatherRows(): string {
  return `
(func $gather_rows (param $tid i32) (param $nth i32)
  ${locals("i32", ["out", "inp", "rows", "R", "C", "t", "t1", "bytes"])}
  ${["out", "inp", "rows", "R", "C"].map((nm, j) => set(nm, argI(j))).join(" ")}
  ${set("bytes", `(i32.shl ${get("C")} (i32.const 2))`)}
  ${rowShare("R")}
  (block $done (loop $rl
    (br_if $done (i32.ge_s ${get("t")} ${get("t1")}))
    (memory.copy (i32.add ${get("out")} (i32.mul ${get("t")} ${get("bytes")}))
      (i32.add ${get("inp")} (i32.mul (i32.load ${el("rows", "t")}) ${get("bytes")})) ${get("bytes")})
    ${set("t", `(i32.add ${get("t")} (i32.const 1))`)}
    (br $rl))))`;
}

/** Args: 0 dinp, 1 dout, 2 rows, 3 R, 4 C; f64 0 scale. Columns split; rows in order. */
function scatterAddRows(): string {
  return `
(func $scatter_add_rows (param $tid i32) (param $nth i32)
  ${locals("i32", ["dinp", "dout", "rows", "R", "C", "c0", "c1", "r", "c", "c4", "o", "g"])}
  (local $s f32) (local $sv v128)
  ${["dinp", "dout", "rows", "R", "C"].map((nm, j) => set(nm, argI(j))).join(" ")}
  ${set("s", `(f32.demote_f64 ${argF(0)})`)} ${set("sv", `(f32x4.splat ${get("s")})`)}
  ${set("c0", `(call $part ${get("C")} ${get("tid")} ${get("nth")})`)}
  ${set("c1", `(call $part ${get("C")} (i32.add ${get("tid")} (i32.const 1)) ${get("nth")})`)}
  ${set("r", i32(0))}
  (block $done (loop $rl
    (br_if $done (i32.ge_s ${get("r")} ${get("R")}))
    ${set("o", `(i32.add ${get("dinp")} (i32.shl (i32.mul (i32.load ${el("rows", "r")}) ${get("C")}) (i32.const 2)))`)}
    ${set("g", `(i32.add ${get("dout")} (i32.shl (i32.mul ${get("r")} ${get("C")}) (i32.const 2)))`)}
    ${columns(
      get("c0"),
      get("c1"),
      "cl",
      `(v128.store ${el("o", "c")} (f32x4.add (v128.load ${el("o", "c")}) (f32x4.mul (v128.load ${el("g", "c")}) ${get("sv")})))`,
      `(f32.store ${el("o", "c")} (f32.add (f32.load ${el("o", "c")}) (f32.mul (f32.load ${el("g", "c")}) ${get("s")})))`,
    )}
    ${set("r", `(i32.add ${get("r")} (i32.const 1))`)}
    (br $rl))))`;
}

/** All the kernels of this file (they use `$part` from wat-ops.ts). */
export function elementwiseWat(): string {
  return [
    hashFunc(),
    scaleKernel(),
    scaleAddKernel(),
    dropoutKernel(),
    addDropoutKernel(),
    reluDropoutKernel(),
    reluBackwardKernel(),
    embeddingForward(),
    gatherRows(),
    scatterAddRows(),
  ].join("\n");
}
