/**
 * The BPE model at encoding time: turns one pre-tokenized word into token ids by applying merges in
 * rank order, as Hugging Face's `BPE::merge_word` + `Word::merge_all` do (always the lowest-ranked
 * pair present, leftmost first), with a per-word cache since corpora repeat words a lot.
 */

/** A word's tokens: ids and the UTF-16 length of the piece of the word each one covers. */
export interface WordTokens {
  ids: Int32Array;
  lens: Int32Array;
}

const CACHE_LIMIT = 200_000;
/** Words with more initial symbols than this are merged with a priority queue (n log n). */
const LONG_WORD = 48;

/** Vocabulary + ranked merges + piece conventions; `tokenize(word)` is the hot call. */
export class BpeModel {
  readonly vocab: Map<string, number>;
  /** Pair key (a * 2^bits + b) -> merge rank. */
  private readonly mergeRank = new Map<number, number>();
  /** Rank -> id of the merged token. */
  private readonly mergeNewId: Int32Array;
  private readonly shift: number;
  private readonly unkId: number;
  private readonly cache = new Map<string, WordTokens>();

  /**
   * @param tokens  token strings in id order (holes allowed as undefined for ids used only by added tokens)
   * @param merges  token pairs in rank order
   */
  constructor(
    readonly tokens: readonly (string | undefined)[],
    readonly merges: readonly (readonly [string, string])[],
    readonly unkToken: string | null,
    readonly continuingSubwordPrefix: string | null,
    readonly endOfWordSuffix: string | null,
  ) {
    this.vocab = new Map();
    tokens.forEach((t, id) => {
      if (t !== undefined) this.vocab.set(t, id);
    });
    this.shift = 2 ** Math.max(1, Math.ceil(Math.log2(tokens.length + 1)));
    this.mergeNewId = new Int32Array(merges.length);
    merges.forEach(([x, y], rank) => {
      const a = this.vocab.get(x);
      const b = this.vocab.get(y);
      if (a === undefined || b === undefined)
        throw new Error(`BPE merge "${x} ${y}": token "${a === undefined ? x : y}" is not in the vocabulary`);
      let yy = y;
      if (continuingSubwordPrefix !== null && yy.startsWith(continuingSubwordPrefix))
        yy = yy.slice(continuingSubwordPrefix.length);
      const merged = this.vocab.get(x + yy);
      if (merged === undefined)
        throw new Error(`BPE merge "${x} ${y}": merged token "${x + yy}" is not in the vocabulary`);
      const key = a * this.shift + b;
      // A pair listed twice keeps its later rank, as when Rust builds its merge map.
      this.mergeRank.set(key, rank);
      this.mergeNewId[rank] = merged;
    });
    if (unkToken !== null && !this.vocab.has(unkToken))
      throw new Error(`BPE unk_token "${unkToken}" is not in the vocabulary`);
    this.unkId = unkToken === null ? -1 : (this.vocab.get(unkToken) as number);
  }

  /**
   * Token ids (and piece lengths) of one word. Results are cached; callers must not modify them.
   *
   * @example
   *   model.tokenize("hugs").ids // e.g. Int32Array [ 812, 1204 ] for "hug", "##s"
   */
  tokenize(word: string): WordTokens {
    let r = this.cache.get(word);
    if (r === undefined) {
      r = this.tokenizeUncached(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, r);
    }
    return r;
  }

  private tokenizeUncached(word: string): WordTokens {
    const ids: number[] = [];
    const lens: number[] = [];
    const prefix = this.continuingSubwordPrefix;
    const suffix = this.endOfWordSuffix;
    const n = word.length;
    for (let i = 0; i < n;) {
      const cp = word.codePointAt(i) as number;
      const w = cp > 0xffff ? 2 : 1;
      let s = word.slice(i, i + w);
      if (i > 0 && prefix !== null) s = prefix + s;
      if (i + w === n && suffix !== null) s += suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        ids.push(id);
        lens.push(w);
      } else if (this.unkId >= 0) {
        ids.push(this.unkId);
        lens.push(w);
      }
      i += w;
    }
    if (ids.length > LONG_WORD) return this.mergeLong(ids, lens);
    // Repeatedly merge the lowest-ranked pair (leftmost on ties), as the Rust merge queue does.
    // Quadratic in the word length, which is fastest for ordinary words.
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let k = 0; k + 1 < ids.length; k++) {
        const rank = this.mergeRank.get(ids[k] * this.shift + ids[k + 1]);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = k;
        }
      }
      if (best < 0) break;
      ids[best] = this.mergeNewId[bestRank];
      lens[best] += lens[best + 1];
      ids.splice(best + 1, 1);
      lens.splice(best + 1, 1);
    }
    return { ids: Int32Array.from(ids), lens: Int32Array.from(lens) };
  }

  /**
   * The same merges for long words (a line without spaces can be one huge word): symbols in a linked
   * list, candidate pairs in a min-heap keyed by rank * 2^26 + position, stale entries skipped on pop.
   */
  private mergeLong(ids: number[], lens: number[]): WordTokens {
    const n = ids.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const POS = 2 ** 26;
    const heap: number[] = [];
    const push = (pos: number): void => {
      const j = next[pos];
      if (j < 0) return;
      const rank = this.mergeRank.get(ids[pos] * this.shift + ids[j]);
      if (rank !== undefined) heapPush(heap, rank * POS + pos);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.length > 0) {
      const top = heapPop(heap);
      const rank = Math.floor(top / POS);
      const pos = top - rank * POS;
      const j = next[pos];
      if (!alive[pos] || j < 0) continue;
      // Stale when the pair at pos changed since this entry was queued.
      if (this.mergeRank.get(ids[pos] * this.shift + ids[j]) !== rank) continue;
      ids[pos] = this.mergeNewId[rank];
      lens[pos] += lens[j];
      alive[j] = 0;
      next[pos] = next[j];
      if (next[j] >= 0) prev[next[j]] = pos;
      if (prev[pos] >= 0) push(prev[pos]);
      push(pos);
    }
    const outIds: number[] = [];
    const outLens: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) {
      outIds.push(ids[i]);
      outLens.push(lens[i]);
    }
    return { ids: Int32Array.from(outIds), lens: Int32Array.from(outLens) };
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= v) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0];
  const last = h.pop() as number;
  const n = h.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
  return top;
}
