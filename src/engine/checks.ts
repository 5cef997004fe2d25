/**
 * The argument checks every backend makes before a kernel runs (the TypeScript reference, WebAssembly
 * and WebGPU alike), so that a bad call fails with the same message on each instead of writing outside
 * an array or reading garbage. Each is one pass over the small integer inputs (labels, the sequence
 * table), never over the float arrays, and allocates nothing.
 *
 * @example
 *   checkAttention("attentionForward", Int32Array.from([0, 5, 5]), 1, 8, 16, 2); // passes: 2 heads of 8 channels
 *   checkLabels(Int32Array.from([3, -100, 50]), 3, 50); // throws "crossEntropy: label 50 at row 2 is outside the vocabulary of 50"
 */

/** Every label of rows [0, R) is below V (negative labels mark rows without one). */
export function checkLabels(labels: Int32Array, R: number, V: number): void {
  for (let r = 0; r < R; r++)
    if (labels[r] >= V)
      throw new Error(`crossEntropy: label ${labels[r]} at row ${r} is outside the vocabulary of ${V}`);
}

/**
 * Attention's arguments: the C channels split into H heads of a whole number of channels each, and
 * every entry (start, L, K) of the packed sequence table (seqs: [numSeqs x 3]) inside the T rows with
 * K <= L: the kernels would otherwise read and write outside their arrays.
 */
export function checkAttention(what: string, seqs: Int32Array, numSeqs: number, T: number, C: number, H: number): void {
  if (!(Number.isInteger(H) && H > 0 && C % H === 0)) throw new Error(`${what}: C=${C} is not a multiple of H=${H}`);
  for (let i = 0; i < numSeqs; i++) {
    const start = seqs[3 * i];
    const L = seqs[3 * i + 1];
    const K = seqs[3 * i + 2];
    if (start < 0 || L < 0 || start + L > T || K < 0 || K > L)
      throw new Error(`${what}: seqs[${i}] = (start ${start}, L ${L}, K ${K}) is outside T=${T} or has K > L`);
  }
}

/** With weight decay, a mask (1: decayed) covering the n parameters. */
export function checkDecayMask(weightDecay: number, decayMask: Uint8Array | null, n: number): void {
  if (!(weightDecay > 0)) return;
  if (decayMask === null) throw new Error("adamUpdate: weightDecay > 0 needs a decayMask");
  if (decayMask.length < n)
    throw new Error(`adamUpdate: decayMask has ${decayMask.length} elements, expected at least ${n}`);
}
