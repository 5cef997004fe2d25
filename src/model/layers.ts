/**
 * Tables the model computes once, in plain TypeScript. Every per-step layer (embedding lookup,
 * dropout, ReLU, residual sums, row gather / scatter) is a Backend kernel, so that it runs in the
 * backend's memory and threads.
 */

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
