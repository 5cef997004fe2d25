/**
 * The register tiles the kernel module is built with (wat/gemm.ts, wat/attention.ts) and the per-thread
 * scratch its matrix products and attention need: the backend reserves scratch by these sizes, so
 * they live here, apart from the text generators that only the build runs.
 */

/** Register tiles and blocking of the generated matrix products. */
export interface GemmConfig {
  /** Rows of the broadcast tile. */
  mr: number;
  /** Vectors (of 4 columns) in the broadcast tile. */
  nv: number;
  /** Block of the inner dimension packed at once. */
  kc: number;
  /** Columns of B packed at once (a block of panels kept in L2; C is written in runs of nc). */
  nc: number;
  /** Unrolling of the micro-kernel's k loop. */
  unroll: number;
}

/** Tiles measured best on x86-64 with Node 20 (see bench/kernels.ts and wat/gemm.ts). */
export const DEFAULT_GEMM: GemmConfig = { mr: 6, nv: 2, kc: 256, nc: 256, unroll: 1 };

/** Bytes of per-thread scratch a `$gemm` job needs (packed A block, packed B panel, a C tile). */
export function gemmScratchBytes(cfg: GemmConfig, rows: number): number {
  const nr = cfg.nv * 4;
  const tiles = Math.ceil(rows / cfg.mr);
  const panels = Math.ceil(cfg.nc / nr);
  return (tiles * cfg.mr * cfg.kc + cfg.kc * nr * panels + cfg.mr * nr) * 4 + 64;
}

/** Bytes of per-thread scratch for sequences up to maxL rows and heads of width D. */
export function attentionScratchBytes(cfg: GemmConfig, maxL: number, D: number): number {
  const nr = cfg.nv * 4;
  const lm = Math.max(maxL, D, 1);
  const ap = Math.ceil(lm / cfg.mr) * cfg.mr * lm;
  const bp = Math.ceil(lm / nr) * nr * lm;
  return (ap + bp + maxL * maxL + cfg.mr * nr) * 4 + 256;
}
