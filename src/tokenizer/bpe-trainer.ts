/**
 * The BPE merge loop, step for step the algorithm of Hugging Face's `BpeTrainer` (trainer.rs), so that
 * the same word counts and settings give the same vocabulary and merges:
 *
 * 1. special tokens take the first ids; 2. the alphabet (characters of the words, limited to the
 * `limitAlphabet` most frequent ones when set) takes the next ids in code-point order; 3. each word
 * becomes a symbol array (prefix on non-initial pieces, suffix on the last one, new piece strings get
 * the next ids); 4. pair counts are weighted by word frequency and every pair goes into a max-heap of
 * (count, then smaller pair of ids first) entries that each carry the set of words to update;
 * 5. the top entry is merged when its count is current, otherwise it is re-queued with the current
 * count (lazy update); new pairs formed by a merge get a fresh entry holding just the words where they
 * appeared. Training stops at the vocab size or when the best count drops below `minFrequency`.
 *
 * Rust iterates its word table in hash order, which only decides the ids of prefixed/suffixed pieces and
 * the order of equal entries; here words go in first-seen order, so the result is deterministic.
 *
 * Data layout (all flat, no per-word objects): `syms` holds every word's symbol ids back to back; word
 * i lives at [start[i], start[i] + len[i]) and shrinks in place as merges apply. A pair (a, b) of ids
 * has the numeric key a * 2^bits + b (so key order is pair order) and an index into the pair arrays.
 */
import { runToEnd, type Interruptible } from "../util/cooperative.js";
import type { Progress } from "../util/progress.js";

/** Settings of the merge loop (a subset of `BpeTrainOptions`). */
export interface MergeLoopOptions {
  vocabSize: number;
  minFrequency: number;
  specialTokens: readonly string[];
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  limitAlphabet: number | null;
  initialAlphabet: readonly string[];
}

/** Result of training: tokens in id order and the merges, as token pairs, in rank order. */
export interface BpeVocabulary {
  vocab: string[];
  merges: [string, string][];
}

/**
 * Learns BPE merges from word counts.
 *
 * @example
 *   const counts = new Map([["hug", 10], ["pug", 5], ["hugs", 5]]);
 *   const { vocab, merges } = learnBpe(counts, { ...opts, vocabSize: 10 });
 *   // merges[0] = ["u", "g"]
 */
export function learnBpe(
  wordCounts: ReadonlyMap<string, number>,
  o: MergeLoopOptions,
  progress?: Progress,
): BpeVocabulary {
  return runToEnd(learnBpeSteps(wordCounts, o, progress));
}

/**
 * `learnBpe` as interruptible work (see util/cooperative.ts): it yields every 4096 words while
 * building the symbol arrays and counting pairs, and every 256 merges, so that `runCooperatively`
 * can pause it or stop it there.
 *
 * @example
 *   const { vocab } = await runCooperatively(learnBpeSteps(counts, opts), { signal });
 */
export function* learnBpeSteps(
  wordCounts: ReadonlyMap<string, number>,
  o: MergeLoopOptions,
  progress?: Progress,
): Interruptible<BpeVocabulary> {
  const id2w: string[] = [];
  const w2id = new Map<string, number>();
  const addToken = (s: string): number => {
    let id = w2id.get(s);
    if (id === undefined) {
      id = id2w.length;
      id2w.push(s);
      w2id.set(s, id);
    }
    return id;
  };
  // 1. special tokens
  for (const t of o.specialTokens) addToken(t);
  // 2. alphabet
  for (const c of computeAlphabet(wordCounts, o)) addToken(c);

  // 3. words as symbol arrays
  const nWords = wordCounts.size;
  let totalChars = 0;
  for (const w of wordCounts.keys()) totalChars += w.length;
  const syms = new Int32Array(totalChars);
  const start = new Int32Array(nWords);
  const len = new Int32Array(nWords);
  const wc = new Float64Array(nWords);
  const prefix = o.continuingSubwordPrefix;
  const suffix = o.endOfWordSuffix;
  let wi = 0;
  let p = 0;
  for (const [word, count] of wordCounts) {
    start[wi] = p;
    wc[wi] = count;
    const chars = Array.from(word);
    for (let j = 0; j < chars.length; j++) {
      let s = chars[j];
      if (!w2id.has(s)) continue; // character outside the (limited) alphabet: dropped, as in Rust
      if (j > 0 && prefix !== null) s = prefix + s;
      if (j === chars.length - 1 && suffix !== null) s = s + suffix;
      syms[p++] = addToken(s);
    }
    len[wi] = p - start[wi];
    wi++;
    if ((wi & 4095) === 0) yield;
  }

  // 4. pair counts and the queue
  const maxId = Math.max(o.vocabSize, id2w.length) + 1;
  const bits = Math.max(1, Math.ceil(Math.log2(maxId + 1)));
  const shift = 2 ** bits;
  const pairIndex = new Map<number, number>(); // key -> pair index
  const pairKey: number[] = [];
  const pairCount: number[] = [];
  const pairMark: number[] = []; // last word index / merge step stamp, to deduplicate positions
  const pairNew: (number[] | null)[] = []; // positions collected for a new queue entry
  const pidOf = (key: number): number => {
    let pid = pairIndex.get(key);
    if (pid === undefined) {
      pid = pairKey.length;
      pairIndex.set(key, pid);
      pairKey.push(key);
      pairCount.push(0);
      pairMark.push(-1);
      pairNew.push(null);
    }
    return pid;
  };
  for (let i = 0; i < nWords; i++) {
    if ((i & 4095) === 4095) yield;
    const s0 = start[i];
    const e = s0 + len[i] - 1;
    const c = wc[i];
    for (let k = s0; k < e; k++) {
      const pid = pidOf(syms[k] * shift + syms[k + 1]);
      pairCount[pid] += c;
      let pos = pairNew[pid];
      if (pos === null) pairNew[pid] = pos = [];
      if (pairMark[pid] !== i) {
        pairMark[pid] = i;
        pos.push(i);
      }
    }
  }
  const heap = new MergeHeap(pairKey);
  for (let pid = 0; pid < pairKey.length; pid++) {
    const pos = pairNew[pid];
    pairNew[pid] = null;
    pairMark[pid] = -1;
    if (pos !== null && pairCount[pid] > 0) heap.push(pairCount[pid], pid, pos);
  }

  // 5. merges
  const merges: number[] = []; // flat triples: a, b, new id
  const touched: number[] = [];
  let step = 0;
  let stop = id2w.length >= o.vocabSize ? "vocab size reached" : "no pair left";
  progress?.setTotal(o.vocabSize);
  while (id2w.length < o.vocabSize && heap.size > 0) {
    const top = heap.pop();
    const pid = heap.entPid[top];
    const current = pairCount[pid];
    if (heap.entCount[top] !== current) {
      heap.entCount[top] = current;
      heap.pushEntry(top);
      continue;
    }
    if (current < 1 || o.minFrequency > current) {
      stop = current < 1 ? "no pair left" : `best pair count ${current} < min frequency ${o.minFrequency}`;
      break;
    }
    const key = pairKey[pid];
    const a = Math.floor(key / shift);
    const b = key - a * shift;
    let partB = id2w[b];
    if (prefix !== null && partB.startsWith(prefix)) partB = partB.slice(prefix.length);
    const newId = addToken(id2w[a] + partB);
    merges.push(a, b, newId);

    // Merge the pair in the entry's words, applying count changes as they come.
    step++;
    const stamp = -1 - step; // never equal to a word index
    touched.length = 0;
    /** Moves word i's count c from pair `from` to pair `to`, and notes that `to` occurs in word i. */
    const movePairCount = (from: number, to: number, c: number, i: number): void => {
      pairCount[from] -= c;
      pairCount[to] += c;
      if (pairMark[to] !== stamp) {
        pairMark[to] = stamp;
        pairNew[to] = [i];
        touched.push(to);
      } else {
        const list = pairNew[to] as number[];
        if (list[list.length - 1] !== i) list.push(i);
      }
    };
    const positions = heap.entPos[top];
    for (let q = 0; q < positions.length; q++) {
      const i = positions[q];
      const s0 = start[i];
      const end = s0 + len[i];
      const c = wc[i];
      let r = s0;
      let w = s0;
      while (r < end) {
        if (syms[r] === a && r + 1 < end && syms[r + 1] === b) {
          if (w > s0) {
            // (prev, a) becomes (prev, new)
            const prev = syms[w - 1];
            movePairCount(pidOf(prev * shift + a), pidOf(prev * shift + newId), c, i);
          }
          syms[w++] = newId;
          r += 2;
          // (b, next) becomes (new, next)
          if (r < end) movePairCount(pidOf(b * shift + syms[r]), pidOf(newId * shift + syms[r]), c, i);
        } else {
          syms[w++] = syms[r++];
        }
      }
      len[i] = w - s0;
    }
    heap.free(top);
    for (let t = 0; t < touched.length; t++) {
      const np = touched[t];
      const pos = pairNew[np] as number[];
      pairNew[np] = null;
      if (pairCount[np] > 0) heap.push(pairCount[np], np, pos);
    }
    if ((step & 255) === 0) {
      progress?.update(id2w.length, `${merges.length / 3} merges`);
      yield;
    }
  }
  if (id2w.length >= o.vocabSize) stop = "vocab size reached";
  progress?.update(id2w.length, `${merges.length / 3} merges, stopped: ${stop}`);

  // A pair merged twice keeps its last rank (Rust collects merges into a map, later ranks win).
  const lastRank = new Map<number, number>();
  for (let m = 0; m < merges.length; m += 3) lastRank.set(merges[m] * shift + merges[m + 1], m);
  const out: [string, string][] = [];
  for (let m = 0; m < merges.length; m += 3) {
    if (lastRank.get(merges[m] * shift + merges[m + 1]) === m) out.push([id2w[merges[m]], id2w[merges[m + 1]]]);
  }
  return { vocab: id2w, merges: out };
}

/**
 * The alphabet, in code-point order: every character of the words, plus `initialAlphabet`; with
 * `limitAlphabet`, the least frequent characters are dropped first (initial ones count as infinitely
 * frequent; among equal counts the higher code point goes first, which Rust leaves to hash order).
 */
export function computeAlphabet(wordCounts: ReadonlyMap<string, number>, o: MergeLoopOptions): string[] {
  const freq = new Map<number, number>();
  for (const [word, count] of wordCounts) {
    for (let i = 0; i < word.length; i++) {
      const cp = word.codePointAt(i) as number;
      if (cp > 0xffff) i++;
      freq.set(cp, (freq.get(cp) ?? 0) + count);
    }
  }
  for (const c of o.initialAlphabet) freq.set(c.codePointAt(0) as number, Infinity);
  let kept = [...freq.entries()];
  if (o.limitAlphabet !== null && kept.length > o.limitAlphabet) {
    kept.sort((x, y) => x[1] - y[1] || y[0] - x[0]);
    kept = kept.slice(kept.length - o.limitAlphabet);
  }
  kept.sort((x, y) => x[0] - y[0]);
  return kept.map(([cp]) => String.fromCodePoint(cp));
}

/**
 * Max-heap of merge entries ordered by count, then by smaller pair key. Entries live in parallel
 * arrays (count, pair index, word positions) and are recycled through a free list.
 */
class MergeHeap {
  readonly entCount: number[] = [];
  readonly entPid: number[] = [];
  readonly entPos: number[][] = [];
  private readonly freeList: number[] = [];
  private readonly heap: number[] = [];

  constructor(private readonly pairKey: number[]) {}

  get size(): number {
    return this.heap.length;
  }

  push(count: number, pid: number, pos: number[]): void {
    let e: number;
    if (this.freeList.length > 0) {
      e = this.freeList.pop() as number;
      this.entCount[e] = count;
      this.entPid[e] = pid;
      this.entPos[e] = pos;
    } else {
      e = this.entCount.length;
      this.entCount.push(count);
      this.entPid.push(pid);
      this.entPos.push(pos);
    }
    this.pushEntry(e);
  }

  free(e: number): void {
    this.entPos[e] = EMPTY;
    this.freeList.push(e);
  }

  /** True when entry x should come out before entry y. */
  private before(x: number, y: number): boolean {
    const cx = this.entCount[x];
    const cy = this.entCount[y];
    if (cx !== cy) return cx > cy;
    return this.pairKey[this.entPid[x]] < this.pairKey[this.entPid[y]];
  }

  pushEntry(e: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(e, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }

  pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as number;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.before(h[r], h[l]) ? r : l;
        if (!this.before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

const EMPTY: number[] = [];
