/**
 * The fill-mask pipeline: the most likely tokens behind each [MASK] of a text, in the output format
 * of the `fill-mask` pipelines of Hugging Face transformers and transformers.js:
 * `{ score, token, token_str, sequence }` per candidate, best first.
 *
 * Like transformers, scores are a softmax over the whole vocabulary (computed in float64 from the
 * model's float32 logits) and no token is filtered out: special tokens such as [SEP] or [UNK] can be
 * predicted. A text with one [MASK] gives one list; a text with several gives one list per mask, in
 * text order (transformers' shape). `fillMasks` always returns the list of lists.
 *
 * `sequence` is the text decoded with the candidate in place of its mask. With one mask it is decoded
 * without special tokens (as transformers does); with several, the other masks stay as "[MASK]" and
 * only the other special tokens ([CLS], [SEP], ...) are left out (transformers keeps those too there).
 */
import { batchOf } from "../data/index.js";
import type { LoadedModel } from "./load-model.js";
import { checkValues, defaultsOf, type FieldTable, type ValuesOf } from "../config/index.js";

/** One candidate for one [MASK]. */
export interface FillMaskPrediction {
  /** Probability of the token at this mask (softmax over the whole vocabulary). */
  score: number;
  /** The token id. */
  token: number;
  /** The token decoded alone (e.g. "mat", "##s", "[SEP]"). */
  token_str: string;
  /** The text with this token in place of the mask. */
  sequence: string;
}

/** The options of fill-mask as a setting table (the `mlm fill` flags derive from it). */
export const FILL_MASK_OPTIONS = {
  /** At most the vocabulary size are returned. */
  topK: { kind: "int", default: 5, min: 1, help: "candidates per mask" },
} as const satisfies FieldTable;

/** Options of `fillMask`; each missing one takes its default from `FILL_MASK_OPTIONS`. */
export type FillMaskOptions = Partial<ValuesOf<typeof FILL_MASK_OPTIONS>>;

/**
 * Fills the [MASK] tokens of `text`: for one mask the top-k candidates, for several a list per mask.
 *
 * @example
 *   import { loadModel, fillMask } from "mlm-ts/pipelines";
 *   const loaded = await loadModel("runs/tatoeba");
 *   console.log(fillMask(loaded, "The cat sat on the [MASK].", { topK: 2 }));
 *   // [ { score: 0.41, token: 1234, token_str: "table", sequence: "the cat sat on the table." },
 *   //   { score: 0.12, token: 987,  token_str: "floor", sequence: "the cat sat on the floor." } ]
 *   loaded.dispose();
 */
export function fillMask(
  loaded: LoadedModel,
  text: string,
  options: FillMaskOptions = {},
): FillMaskPrediction[] | FillMaskPrediction[][] {
  const perMask = fillMasks(loaded, text, options);
  return perMask.length === 1 ? perMask[0] : perMask;
}

/**
 * Like `fillMask`, but always one list of candidates per [MASK] (in text order), even for one mask.
 *
 * @example
 *   const [first, second] = fillMasks(loaded, "[MASK] dog sat on the [MASK].", { topK: 1 });
 *   // first[0].sequence === "the dog sat on the [MASK]."; second[0].sequence === "[MASK] dog sat on the log."
 */
export function fillMasks(loaded: LoadedModel, text: string, options: FillMaskOptions = {}): FillMaskPrediction[][] {
  const { tokenizer, modelConfig } = loaded;
  const V = modelConfig.vocabSize;
  const { topK } = { ...defaultsOf(FILL_MASK_OPTIONS), ...checkValues(FILL_MASK_OPTIONS, options, "fill-mask") };
  const k = Math.min(topK, V);
  const maskId = tokenizer.tokenToId("[MASK]");
  if (maskId === undefined) throw new Error("fill-mask: the model's tokenizer has no [MASK] token");

  const ids = encodeUntruncated(loaded, text);
  const maxLen = modelConfig.maxLen;
  if (ids.length > maxLen) {
    throw new Error(
      `fill-mask: the text is ${ids.length} tokens long ([CLS] and [SEP] included), more than the model's maximum of ${maxLen}`,
    );
  }
  const maskRows: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] === maskId) maskRows.push(i);
  if (maskRows.length === 0)
    throw new Error(`fill-mask: no [MASK] token in the text "${text.length > 60 ? text.slice(0, 57) + "..." : text}"`);

  // One sentence, no labels: rows are the tokens in order, so row i is token i.
  const model = loaded.ensureCapacity({ maxRows: ids.length, maxSeqs: 1, maxHeadRows: maskRows.length });
  const logits = model.logits(batchOf([{ ids }]), maskRows); // [masks, V]

  const single = maskRows.length === 1;
  const probs = new Float64Array(V);
  return maskRows.map((row, m) => {
    softmaxInto(logits.subarray(m * V, (m + 1) * V), probs);
    return topIndices(probs, k).map((token) => ({
      score: probs[token],
      token,
      token_str: tokenizer.decode([token], { skipSpecialTokens: false }),
      sequence: filledSequence(loaded, ids, maskRows, row, token, single),
    }));
  });
}

/** Token ids of `text` with [CLS]/[SEP], without truncation (so a too-long text can be reported). */
function encodeUntruncated(loaded: LoadedModel, text: string): number[] {
  const tok = loaded.tokenizer;
  const saved = tok.maxLength;
  tok.setTruncation(null);
  try {
    return Array.from(tok.encodeIds(text));
  } finally {
    tok.setTruncation(saved);
  }
}

/**
 * probs = softmax(logits), in float64 (the maximum subtracted first, so no exp overflows).
 *
 * @example
 *   const probs = new Float64Array(3);
 *   softmaxInto(Float32Array.of(0, 0, Math.log(2)), probs);   // probs ≈ [0.25, 0.25, 0.5]
 */
export function softmaxInto(logits: ArrayLike<number>, probs: Float64Array): void {
  const V = logits.length;
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v] > max) max = logits[v]!;
  let sum = 0;
  for (let v = 0; v < V; v++) {
    const e = Math.exp(logits[v] - max);
    probs[v] = e;
    sum += e;
  }
  for (let v = 0; v < V; v++) probs[v] /= sum;
}

/** Indices of the k largest values, largest first; ties go to the lower index. */
function topIndices(values: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let v = 0; v < values.length; v++) {
    const x = values[v];
    if (top.length === k && x <= values[top[k - 1]]) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && values[top[at - 1]] < x) at--;
    top.splice(at, 0, v);
    if (top.length > k) top.pop();
  }
  return top;
}

/** The text decoded with `token` at `row` (see the module comment for the special-token rules). */
function filledSequence(
  loaded: LoadedModel,
  ids: number[],
  maskRows: number[],
  row: number,
  token: number,
  single: boolean,
): string {
  const tok = loaded.tokenizer;
  const filled = ids.slice();
  filled[row] = token;
  if (single) return tok.decode(filled, { skipSpecialTokens: true });
  const kept = filled.filter((id, i) => i === row || maskRows.includes(i) || !tok.isSpecialId(id));
  return tok.decode(kept, { skipSpecialTokens: false });
}
