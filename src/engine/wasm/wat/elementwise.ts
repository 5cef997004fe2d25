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
 *
 * Reference: the methods of the same names in backend.ts (TsBackend), bit for bit. Tests: "scaleAdd,
 * dropout, addDropout, reluDropout and reluBackward give TsBackend's bits and masks, 1 and 2 threads",
 * "embeddingForward, gatherRows and scatterAddRows give TsBackend's bits, repeated rows included"
 * (test/engine/wasm-backend.test.ts).
 */
import { type KernelName } from "../kernels.js";
import { at4, forLoop, get, i32, kernelFunc, locals, set, share, shareLoop, vectorShare } from "./util.js";

const GOLDEN = 0x9e3779b9 | 0;
const M1 = 0x85ebca6b | 0;
const M2 = 0xc2b2ae35 | 0;
const ZERO = "(v128.const i32x4 0 0 0 0)";
const ALL = "(v128.const i32x4 -1 -1 -1 -1)";

/** Sets $s to the scale argument as f32 and $sv to its splat (locals `SCALE_LOCALS`). */
const SCALE = `${set("s", `(f32.demote_f64 ${get("scale")})`)} ${set("sv", `(f32x4.splat ${get("s")})`)}`;
const SCALE_LOCALS = "(local $s f32) (local $sv v128)";

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
const keepScalar = (): string => set("k", `(i32.ge_u (call $dhash ${get("seed")} ${get("i")}) ${get("threshold")})`);

/**
 * An elementwise kernel over [0, n). Its arguments (kernels.ts) include n and the float64 scale,
 * read as the f32 $s (and its splat $sv); dropout kernels also seed and threshold.
 */
interface ElementwiseSpec {
  name: KernelName;
  /** Whether the kernel draws a dropout mask (skipped entirely when the threshold is 0). */
  dropout: boolean;
  /** Vector body for lanes i..i+3; with a mask, $km holds it (all ones when th is 0 and the mask is off). */
  vec: (masked: boolean) => string;
  /** Scalar body for element i; with a mask, $k holds the keep flag. */
  scalar: (masked: boolean) => string;
}

/** A chunked elementwise kernel (see ElementwiseSpec). */
function elementwise(spec: ElementwiseSpec): string {
  const loops = (masked: boolean, label: string): string => `
    ${set("i", get("lo"))}
    ${masked ? set("w", `(i32x4.mul (i32x4.add (i32x4.splat ${get("lo")}) (v128.const i32x4 0 1 2 3)) (i32x4.splat ${i32(GOLDEN)}))`) : ""}
    (block $${label}_ve (loop $${label}_v
      (br_if $${label}_ve (i32.ge_s ${get("i")} ${get("hi4")}))
      ${masked ? keepMask() : ""}
      ${spec.vec(masked)}
      ${set("i", `(i32.add ${get("i")} (i32.const 4))`)}
      (br $${label}_v)))
    (block $${label}_se (loop $${label}_s
      (br_if $${label}_se (i32.ge_s ${get("i")} ${get("hi")}))
      ${masked ? keepScalar() : ""}
      ${spec.scalar(masked)}
      ${set("i", `(i32.add ${get("i")} (i32.const 1))`)}
      (br $${label}_s)))`;
  // kernels without a mask still set up the (unused) mask vectors from a zero seed and threshold
  const noMask = spec.dropout ? [] : ["seed", "threshold"];
  return kernelFunc(
    spec.name,
    `${locals("i32", [...noMask, "lo", "hi", "hi4", "i", "k"])}
  ${SCALE_LOCALS}
  ${locals("v128", ["w", "h", "km", "seedv", "thv", "xv", "zero"])}`,
    `${SCALE}
  ${set("zero", ZERO)} ${set("km", ALL)} ${set("k", i32(1))}
  ${set("seedv", `(i32x4.splat ${get("seed")})`)} ${set("thv", `(i32x4.splat ${get("threshold")})`)}
  ${vectorShare("lo", "hi", "hi4", get("n"), get("tid"), get("nth"))}
  ${spec.dropout ? `(if ${get("threshold")} (then ${loops(true, "m")}) (else ${loops(false, "p")}))` : loops(false, "p")}`,
  );
}

/** out = scale * x (out may be x). */
const scaleKernel = (): string =>
  elementwise({
    name: "scale",
    dropout: false,
    vec: () => `(v128.store ${el("out")} (f32x4.mul (v128.load ${el("x")}) ${get("sv")}))`,
    scalar: () => `(f32.store ${el("out")} (f32.mul (f32.load ${el("x")}) ${get("s")}))`,
  });

/** out = out + scale * x (product rounded, then the sum: no fused multiply-add). */
const scaleAddKernel = (): string =>
  elementwise({
    name: "scaleAdd",
    dropout: false,
    vec: () =>
      `(v128.store ${el("out")} (f32x4.add (v128.load ${el("out")}) (f32x4.mul (v128.load ${el("x")}) ${get("sv")})))`,
    scalar: () =>
      `(f32.store ${el("out")} (f32.add (f32.load ${el("out")}) (f32.mul (f32.load ${el("x")}) ${get("s")})))`,
  });

/** out = keep ? inp * scale : 0. */
const dropoutKernel = (): string =>
  elementwise({
    name: "dropout",
    dropout: true,
    vec: () => `(v128.store ${el("out")} (v128.and (f32x4.mul (v128.load ${el("inp")}) ${get("sv")}) ${get("km")}))`,
    scalar: () =>
      `(f32.store ${el("out")} (select (f32.mul (f32.load ${el("inp")}) ${get("s")}) (f32.const 0) ${get("k")}))`,
  });

/** out = a + (keep ? b * scale : 0). */
const addDropoutKernel = (): string =>
  elementwise({
    name: "addDropout",
    dropout: true,
    vec: () =>
      `(v128.store ${el("out")} (f32x4.add (v128.load ${el("a")}) (v128.and (f32x4.mul (v128.load ${el("b")}) ${get("sv")}) ${get("km")})))`,
    scalar: () =>
      `(f32.store ${el("out")} (f32.add (f32.load ${el("a")}) (select (f32.mul (f32.load ${el("b")}) ${get("s")}) (f32.const 0) ${get("k")})))`,
  });

/** x = (x > 0 and keep) ? x * scale : 0. */
const reluDropoutKernel = (): string =>
  elementwise({
    name: "reluDropout",
    dropout: true,
    vec: () => `${set("xv", `(v128.load ${el("x")})`)}
      (v128.store ${el("x")} (v128.and (f32x4.mul ${get("xv")} ${get("sv")}) (v128.and (f32x4.gt ${get("xv")} ${get("zero")}) ${get("km")})))`,
    scalar: () => `(f32.store ${el("x")} (select (f32.mul (f32.load ${el("x")}) ${get("s")}) (f32.const 0)
      (i32.and (f32.gt (f32.load ${el("x")}) (f32.const 0)) ${get("k")})))`,
  });

/** d = y > 0 ? d * scale : 0. */
const reluBackwardKernel = (): string =>
  elementwise({
    name: "reluBackward",
    dropout: false,
    vec: () =>
      `(v128.store ${el("d")} (v128.and (f32x4.mul (v128.load ${el("d")}) ${get("sv")}) (f32x4.gt (v128.load ${el("y")}) ${get("zero")})))`,
    scalar: () =>
      `(f32.store ${el("d")} (select (f32.mul (f32.load ${el("d")}) ${get("s")}) (f32.const 0) (f32.gt (f32.load ${el("y")}) (f32.const 0))))`,
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

/** out[t] = table[ids[t]] * scale + pe[positions[t]] for rows [T, C]. Rows split. */
function embeddingForward(): string {
  const row = `
    ${set("o", `(i32.add ${get("out")} (i32.shl (i32.mul ${get("t")} ${get("C")}) (i32.const 2)))`)}
    ${set("e", `(i32.add ${get("table")} (i32.shl (i32.mul (i32.load ${el("ids", "t")}) ${get("C")}) (i32.const 2)))`)}
    ${set("q", `(i32.add ${get("pe")} (i32.shl (i32.mul (i32.load ${el("positions", "t")}) ${get("C")}) (i32.const 2)))`)}
    ${columns(
      i32(0),
      get("C"),
      "cl",
      `(v128.store ${el("o", "c")} (f32x4.add (f32x4.mul (v128.load ${el("e", "c")}) ${get("sv")}) (v128.load ${el("q", "c")})))`,
      `(f32.store ${el("o", "c")} (f32.add (f32.mul (f32.load ${el("e", "c")}) ${get("s")}) (f32.load ${el("q", "c")})))`,
    )}`;
  return kernelFunc(
    "embeddingForward",
    `${locals("i32", ["t", "t1", "c", "c4", "o", "e", "q"])}
  ${SCALE_LOCALS}`,
    `${SCALE}
  ${shareLoop("t", "t1", get("T"), row, "rows")}`,
  );
}

/** out[r] = inp[rows[r]] for R rows of C. Rows split; a row is one memory.copy. */
function gatherRows(): string {
  const row = `
    (memory.copy (i32.add ${get("out")} (i32.mul ${get("t")} ${get("bytes")}))
      (i32.add ${get("inp")} (i32.mul (i32.load ${el("rows", "t")}) ${get("bytes")})) ${get("bytes")})`;
  return kernelFunc(
    "gatherRows",
    locals("i32", ["t", "t1", "bytes"]),
    `${set("bytes", `(i32.shl ${get("C")} (i32.const 2))`)}
  ${shareLoop("t", "t1", get("R"), row, "rl")}`,
  );
}

/** dinp[rows[r]] += dout[r] * scale for R rows of C. Columns split; rows in order. */
function scatterAddRows(): string {
  const row = `
    ${set("o", `(i32.add ${get("dinp")} (i32.shl (i32.mul (i32.load ${el("rows", "r")}) ${get("C")}) (i32.const 2)))`)}
    ${set("g", `(i32.add ${get("dout")} (i32.shl (i32.mul ${get("r")} ${get("C")}) (i32.const 2)))`)}
    ${columns(
      get("c0"),
      get("c1"),
      "cl",
      `(v128.store ${el("o", "c")} (f32x4.add (v128.load ${el("o", "c")}) (f32x4.mul (v128.load ${el("g", "c")}) ${get("sv")})))`,
      `(f32.store ${el("o", "c")} (f32.add (f32.load ${el("o", "c")}) (f32.mul (f32.load ${el("g", "c")}) ${get("s")})))`,
    )}`;
  return kernelFunc(
    "scatterAddRows",
    `${locals("i32", ["c0", "c1", "r", "c", "c4", "o", "g"])}
  ${SCALE_LOCALS}`,
    `${SCALE}
  ${share("c0", "c1", get("C"))}
  ${forLoop("r", i32(0), get("R"), 1, row, "rl")}`,
  );
}

/** All the kernels of this file. */
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
