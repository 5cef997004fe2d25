/**
 * The model's light layers, each a forward and a backward over flat arrays (llm.c style). The heavy
 * ones (linear, layer norm, attention, cross-entropy) are Backend kernels. T = rows (tokens),
 * C = features, V = vocabulary. Nothing here allocates.
 */
import type { Rng } from "../engine/rng.js";

/**
 * Sinusoidal positional encoding, [maxLen, C]:
 *   PE[pos, 2i] = sin(pos / 10000^(2i/C)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/C)).
 *
 * This is the table the tutorial intends. Its own code builds it with JAX's `pe.at[...].set(...)`
 * and throws the result away (JAX arrays are immutable), so the tutorial's model really adds zeros
 * and sees no positions at all. We add the intended encoding.
 */
export function positionalEncoding(maxLen: number, C: number): Float32Array {
  const pe = new Float32Array(maxLen * C);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let c = 0; c < C; c += 2) {
      const angle = pos / Math.pow(10000, c / C);
      pe[pos * C + c] = Math.sin(angle);
      if (c + 1 < C) pe[pos * C + c + 1] = Math.cos(angle);
    }
  }
  return pe;
}

/**
 * out[t,:] = table[ids[t],:] * scale + pe[positions[t],:]
 * out [T,C], ids [T], positions [T], table [V,C], pe [maxLen,C]; scale is sqrt(C) in the model.
 */
export function embeddingForward(out: Float32Array, ids: Int32Array, positions: Int32Array, table: Float32Array, pe: Float32Array, T: number, C: number, scale: number): void {
  for (let t = 0; t < T; t++) {
    const e = ids[t] * C;
    const p = positions[t] * C;
    const o = t * C;
    for (let c = 0; c < C; c++) out[o + c] = table[e + c] * scale + pe[p + c];
  }
}

/** dtable[ids[t],:] += dout[t,:] * scale (scatter-add: a token seen twice gets both gradients). */
export function embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, T: number, C: number, scale: number): void {
  for (let t = 0; t < T; t++) {
    const e = ids[t] * C;
    const o = t * C;
    for (let c = 0; c < C; c++) dtable[e + c] += dout[o + c] * scale;
  }
}

/**
 * Inverted dropout in place: each of x[0..n) is zeroed with probability p, the others scaled by
 * 1/(1-p). keep[i] records the choice (1 kept, 0 dropped) for the backward; it may be null when
 * the backward can tell from the output (ReLU units, see reluBackward).
 */
export function dropoutForward(x: Float32Array, keep: Uint8Array | null, n: number, p: number, rng: Rng): void {
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    const k = rng.float() >= p;
    x[i] = k ? x[i] * scale : 0;
    if (keep !== null) keep[i] = k ? 1 : 0;
  }
}

/** dx = dout * keep / (1-p), written to dx (may be dout itself). */
export function dropoutBackward(dx: Float32Array, dout: Float32Array, keep: Uint8Array, n: number, p: number): void {
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) dx[i] = keep[i] === 1 ? dout[i] * scale : 0;
}

/** x = max(x, 0) in place, over n values. */
export function reluForward(x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) if (x[i] < 0) x[i] = 0;
}

/**
 * d = d * (y > 0) in place, where y is the ReLU output (also valid after inverted dropout: a kept
 * positive unit stays positive, a dropped or negative one is zero), times `scale` (1/(1-p) when
 * dropout followed, else 1).
 */
export function reluBackward(d: Float32Array, y: Float32Array, n: number, scale: number): void {
  for (let i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] * scale : 0;
}

/** out = a + b over n values (out may alias a or b). */
export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** out += a over n values. */
export function addInPlace(out: Float32Array, a: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] += a[i];
}

/** out[r,:] = inp[rows[r],:] for r < R (out [R,C], inp [T,C]). */
export function gatherRows(out: Float32Array, inp: Float32Array, rows: Int32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) out.set(inp.subarray(rows[r] * C, rows[r] * C + C), r * C);
}

/** dinp[rows[r],:] += dout[r,:] for r < R (the backward of gatherRows). */
export function scatterAddRows(dinp: Float32Array, dout: Float32Array, rows: Int32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const o = rows[r] * C;
    const i = r * C;
    for (let c = 0; c < C; c++) dinp[o + c] += dout[i + c];
  }
}
