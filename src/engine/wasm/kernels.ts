/**
 * The kernels of the WebAssembly module and their argument layouts, declared once for both sides:
 * the generators (wat/*.ts, through `kernelFunc` in wat/util.ts) load argument i32[i] from int32
 * word ARG_I32 + i of the control block and f64[i] from float64 ARG_F64 + i (layout.ts) into a local
 * of the same name, and the backend (wasm-backend.ts, through `createJobs` in job-args.ts) writes
 * them by name. A generator that never reads a declared argument fails when the module is built; a
 * backend call that leaves one unwritten fails when the job starts; a misspelt name is a type error
 * on the backend side and an unknown local (a wabt error in `npm run build`) on the generator side.
 *
 * Pointers are byte offsets into the shared memory (0: none, where a kernel allows it); sizes and
 * leading dimensions are in elements.
 */
import { ARG_F64_COUNT, ARG_I32_COUNT } from "./layout.js";

/** One kernel: its opcode, its function in the module, and its arguments in control-block order. */
export interface KernelDecl {
  /** Job opcode understood by the module's `task(tid, nth)` export. */
  readonly op: number;
  /** Name of the `(func $name (param $tid i32) (param $nth i32))` in the module. */
  readonly func: string;
  /** int32 arguments, in order. */
  readonly i32: readonly string[];
  /** float64 arguments, in order. */
  readonly f64: readonly string[];
}

/**
 * The gemm kernel's `mode` argument: how it reads A and B while packing (wat/gemm.ts).
 *   product:            C  = A @ B (+ bias)     A [M,K] rows, B [K,N] rows            (out = inp @ w)
 *   weightGradient:     C += A^T @ B            A [K,M] read transposed, B [K,N] rows;
 *                                              dbias += column sums of B             (dw += inp^T @ dout)
 *   productTransposedB: C  = A @ B^T (+ bias)   A [M,K] rows, B [N,K] read transposed (dinp = dout @ w^T)
 */
export const GEMM_MODE = { product: 0, weightGradient: 1, productTransposedB: 2 } as const;

/** A name of GEMM_MODE. */
export type GemmMode = keyof typeof GEMM_MODE;

const SCALE_ARGS = { i32: ["out", "x", "n"], f64: ["scale"] } as const;

/** Every kernel of the module, by the name the backend uses. */
export const KERNELS = {
  /** C[M,N] (=|+=) A @ B in one of the GEMM_MODE modes (wat/gemm.ts); scratch: per-thread packing space. */
  gemm: {
    op: 0,
    func: "gemm",
    i32: [
      "mode",
      "A",
      "lda",
      "B",
      "ldb",
      "C",
      "ldc",
      "M",
      "N",
      "K",
      "bias",
      "dbias",
      "accumulate",
      "splitCols",
      "scratch",
      "scratchStride",
    ],
    f64: [],
  },
  layerNormForward: {
    op: 2,
    func: "ln_fwd",
    i32: ["out", "mean", "rstd", "inp", "gamma", "beta", "T", "C"],
    f64: ["eps"],
  },
  /** dinp, and partial dgamma/dbeta per row chunk at `partials` (2C floats per chunk). */
  layerNormBackward: {
    op: 3,
    func: "ln_bwd",
    i32: ["dinp", "dout", "inp", "gamma", "mean", "rstd", "T", "C", "partials", "chunks"],
    f64: [],
  },
  /** dgamma/dbeta += the chunk partials of layerNormBackward, in chunk order (one thread). */
  layerNormReduce: {
    op: 18,
    func: "ln_reduce",
    i32: ["dgamma", "dbeta", "C", "partials", "chunks"],
    f64: [],
  },
  /** maxLD = max(longest sequence, head width, 1): the side of the scratch blocks. */
  attentionForward: {
    op: 4,
    func: "attn_fwd",
    i32: ["out", "probs", "q", "k", "v", "seqs", "numSeqs", "C", "H", "scratch", "scratchStride", "maxLD"],
    f64: [],
  },
  attentionBackward: {
    op: 5,
    func: "attn_bwd",
    i32: [
      "dq",
      "dk",
      "dv",
      "dout",
      "probs",
      "q",
      "k",
      "v",
      "seqs",
      "numSeqs",
      "C",
      "H",
      "scratch",
      "scratchStride",
      "maxLD",
    ],
    f64: [],
  },
  crossEntropy: {
    op: 6,
    func: "xent",
    i32: ["losses", "dlogits", "logits", "labels", "R", "V"],
    f64: ["gradScale"],
  },
  /** Float64 sums of squares of `chunks` chunks of x, at PARTIALS_BYTES (layout.ts). */
  sumSquares: { op: 7, func: "sumsq", i32: ["x", "n", "chunks"], f64: [] },
  /** bias1, bias2: 1 - beta1^t and 1 - beta2^t; decayMask: bytes, 1 where weight decay applies. */
  adam: {
    op: 8,
    func: "adam",
    i32: ["params", "grads", "m", "v", "n", "decayMask"],
    f64: ["learningRate", "beta1", "beta2", "eps", "bias1", "bias2", "gradScale", "weightDecay"],
  },
  scale: { op: 9, func: "ew_scale", ...SCALE_ARGS },
  scaleAdd: { op: 17, func: "ew_scale_add", ...SCALE_ARGS },
  /** threshold: dropoutThreshold(p) (backend.ts); scale: dropoutScale(p). */
  dropout: { op: 10, func: "ew_dropout", i32: ["out", "inp", "n", "seed", "threshold"], f64: ["scale"] },
  addDropout: { op: 11, func: "ew_add_dropout", i32: ["out", "a", "b", "n", "seed", "threshold"], f64: ["scale"] },
  reluDropout: { op: 12, func: "ew_relu_dropout", i32: ["x", "n", "seed", "threshold"], f64: ["scale"] },
  reluBackward: { op: 13, func: "ew_relu_bwd", i32: ["d", "y", "n"], f64: ["scale"] },
  gelu: { op: 19, func: "gelu_fwd", i32: ["out", "inp", "n"], f64: [] },
  geluBackward: { op: 20, func: "gelu_bwd", i32: ["d", "inp", "n"], f64: [] },
  embeddingForward: {
    op: 14,
    func: "embed_fwd",
    i32: ["out", "ids", "positions", "table", "pe", "T", "C"],
    f64: ["scale"],
  },
  gatherRows: { op: 15, func: "gather_rows", i32: ["out", "inp", "rows", "R", "C"], f64: [] },
  scatterAddRows: { op: 16, func: "scatter_add_rows", i32: ["dinp", "dout", "rows", "R", "C"], f64: ["scale"] },
} as const satisfies Record<string, KernelDecl>;

/** Name of a kernel, as in `KERNELS`. */
export type KernelName = keyof typeof KERNELS;

/** Names of kernel K's arguments (int32 and float64). */
export type ArgName<K extends KernelName> = (typeof KERNELS)[K]["i32"][number] | (typeof KERNELS)[K]["f64"][number];

/** The kernels as a list. */
export const KERNEL_LIST: readonly (KernelDecl & { readonly name: KernelName })[] = Object.entries(KERNELS).map(
  ([name, k]) => ({ name: name as KernelName, ...k }),
);

/**
 * Most arguments of one kernel: the backend records which ones a call has written as bits of one
 * int32 (job-args.ts).
 */
export const MAX_ARGS = 31;

/** Throws when a declaration breaks a rule that both sides rely on. */
export function checkKernels(list: readonly (KernelDecl & { readonly name: string })[]): void {
  const ops = new Map<number, string>();
  const funcs = new Map<string, string>();
  for (const k of list) {
    const where = `wasm kernel ${k.name}`;
    const names = [...k.i32, ...k.f64];
    if (k.i32.length > ARG_I32_COUNT)
      throw new Error(`${where}: ${k.i32.length} int32 arguments, at most ${ARG_I32_COUNT}`);
    if (k.f64.length > ARG_F64_COUNT)
      throw new Error(`${where}: ${k.f64.length} float64 arguments, at most ${ARG_F64_COUNT}`);
    if (names.length > MAX_ARGS) throw new Error(`${where}: ${names.length} arguments, at most ${MAX_ARGS}`);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new Error(`${where}: argument "${twice}" is declared twice`);
    const bad = names.find((n) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(n));
    if (bad !== undefined) throw new Error(`${where}: argument "${bad}" is not a valid local name`);
    if (!Number.isInteger(k.op) || k.op < 0) throw new Error(`${where}: opcode ${k.op} is not an integer >= 0`);
    const sameOp = ops.get(k.op);
    if (sameOp !== undefined) throw new Error(`${where}: opcode ${k.op} is also ${sameOp}'s`);
    const sameFunc = funcs.get(k.func);
    if (sameFunc !== undefined) throw new Error(`${where}: function $${k.func} is also ${sameFunc}'s`);
    ops.set(k.op, k.name);
    funcs.set(k.func, k.name);
  }
}

checkKernels(KERNEL_LIST);
