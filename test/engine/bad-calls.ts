/**
 * Kernel calls with bad arguments and the message each backend must refuse them with (the shared
 * checks of src/engine/checks.ts): test/engine/checks.test.ts makes them on the TypeScript and
 * WebAssembly backends, test/browser/webgpu-kernels-page.ts on WebGPU.
 *
 * @example
 *   for (const bad of BAD_CALLS) assert.throws(() => bad.call(backend), { message: bad.message });
 */
import type { Backend } from "../../src/engine/backend.js";

export interface BadCall {
  /** The call made. */
  call(be: Backend): void;
  /** The message it must throw. */
  message: string;
}

const [T, C, H] = [10, 16, 2];

/** A sequence table with one bad entry, and attention's arrays for it. */
function attention(be: Backend, seqs: number[], c = C): Parameters<Backend["attentionForward"]> {
  const table = be.allocInt(seqs.length);
  table.set(seqs);
  const [out, probs, q, k, v] = [T * c, 400 * H, T * c, T * c, T * c].map((n) => be.alloc(n));
  return [out, probs, q, k, v, table, seqs.length / 3, T, c, H];
}

const HYPER = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, gradScale: 1, weightDecay: 0.01 };

export const BAD_CALLS: BadCall[] = [
  {
    call(be) {
      const labels = be.allocInt(3);
      labels.set([2, 300, -100]);
      be.crossEntropy(be.alloc(3), null, be.alloc(3 * 300), labels, 3, 300, 1);
    },
    message: "crossEntropy: label 300 at row 1 is outside the vocabulary of 300",
  },
  {
    call: (be) => be.attentionForward(...attention(be, [0, 4, 4], 15)),
    message: "attentionForward: C=15 is not a multiple of H=2",
  },
  {
    call: (be) => be.attentionForward(...attention(be, [0, 5, 5, 5, 7, 4])),
    message: "attentionForward: seqs[1] = (start 5, L 7, K 4) is outside T=10 or has K > L",
  },
  {
    call(be) {
      const [out, probs, q, k, v, seqs, numSeqs] = attention(be, [0, 4, 5]);
      be.attentionBackward(
        be.alloc(T * C),
        be.alloc(T * C),
        be.alloc(T * C),
        out,
        probs,
        q,
        k,
        v,
        seqs,
        numSeqs,
        T,
        C,
        H,
      );
    },
    message: "attentionBackward: seqs[0] = (start 0, L 4, K 5) is outside T=10 or has K > L",
  },
  {
    call: (be) => be.adamUpdate(be.alloc(10), be.alloc(10), be.alloc(10), be.alloc(10), 10, HYPER, null),
    message: "adamUpdate: weightDecay > 0 needs a decayMask",
  },
  {
    call: (be) => be.adamUpdate(be.alloc(10), be.alloc(10), be.alloc(10), be.alloc(10), 10, HYPER, new Uint8Array(5)),
    message: "adamUpdate: decayMask has 5 elements, expected at least 10",
  },
];
