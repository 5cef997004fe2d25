/**
 * A BPE tokenizer with the Hugging Face pipeline: added (special) tokens split out of the raw text,
 * normalizer, pre-tokenizer, BPE model, `[CLS] … [SEP]` post-processor, truncation, padding, decoder.
 * Loads and saves `tokenizer.json`; encodes to the same ids as the Rust library.
 *
 * Offsets are [start, end) in characters (Unicode code points) of the input, as the Rust library
 * reports them; for plain BMP text these equal JavaScript string indices.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import { BpeModel } from "./bpe-model.js";
import { isIdentityNormalizer, lowercase, normalize, scanPreTokens } from "./pretokenize.js";
import { configFromJson, configToJson } from "./tokenizer-json.js";
import type { TokenizerConfig } from "./tokenizer-json.js";

/**
 * One encoded sentence. All arrays have the same length. In encodings returned by `encode` and
 * `encodeBatch`, `tokens` and `offsets` are getters computed on first access (so spreading or
 * `structuredClone` skips them); `toJSON()` on such an encoding gives a plain object with all fields.
 */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** 1 for tokens added by the post-processor ([CLS], [SEP]) and padding, 0 otherwise. */
  specialTokensMask: number[];
  /** [start, end) of each token in the input, in characters; [0, 0] for added tokens and padding. */
  offsets: [number, number][];
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], ...). Default true. */
  skipSpecialTokens?: boolean;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * @example
 *   const tok = Tokenizer.load("runs/tokenizer.json");
 *   tok.encode("Hello [MASK]!").tokens   // [ "[CLS]", "hello", "[MASK]", "!", "[SEP]" ]
 *   tok.decode(tok.encodeIds("Tom is here.")) // "tom is here."
 */
export class Tokenizer {
  private readonly model: BpeModel;
  private readonly idToTokenTable: string[];
  private readonly tokenToIdTable: Map<string, number>;
  private readonly specialIds: Set<number>;
  private readonly addedByContent = new Map<string, number>();
  private readonly addedRe: RegExp | null;
  private readonly identityNormalizer: boolean;
  /** Reused pre-token boundary buffer. */
  private readonly bounds: number[] = [];
  /** Reused id buffer of `encodeIds`. */
  private idBuf = new Int32Array(256);

  private constructor(private readonly config: TokenizerConfig) {
    const c = config;
    this.model = new BpeModel(c.vocab, c.merges, c.unkToken, c.continuingSubwordPrefix, c.endOfWordSuffix);
    this.idToTokenTable = c.vocab.slice();
    this.tokenToIdTable = new Map(this.model.vocab);
    this.specialIds = new Set();
    for (const t of c.addedTokens) {
      this.idToTokenTable[t.id] = t.content;
      this.tokenToIdTable.set(t.content, t.id);
      this.addedByContent.set(t.content, t.id);
      if (t.special) this.specialIds.add(t.id);
    }
    for (let i = 0; i < this.idToTokenTable.length; i++) this.idToTokenTable[i] ??= "";
    // Leftmost match, longest first among tokens starting at the same place (as Rust's aho-corasick).
    const contents = [...this.addedByContent.keys()].filter((s) => s.length > 0).sort((x, y) => y.length - x.length);
    this.addedRe = contents.length === 0 ? null : new RegExp(contents.map(escapeRegExp).join("|"), "g");
    this.identityNormalizer = isIdentityNormalizer(c.normalizer);
    const checkId = (what: string, id: number, token: string): void => {
      if (this.tokenToIdTable.get(token) !== id)
        throw new Error(`tokenizer: ${what} "${token}" does not have id ${id} in the vocabulary`);
    };
    if (c.template !== null) {
      checkId("post-processor token", c.template.cls.id, c.template.cls.token);
      checkId("post-processor token", c.template.sep.id, c.template.sep.token);
    }
    if (c.padding !== null) checkId("pad token", c.padding.padId, c.padding.padToken);
  }

  /** Builds a tokenizer from its parts (see `TokenizerConfig`). */
  static fromConfig(config: TokenizerConfig): Tokenizer {
    return new Tokenizer(structuredClone(config));
  }

  /** Parses a tokenizer.json (object or JSON text). */
  static fromJSON(json: unknown, source = "tokenizer.json"): Tokenizer {
    let obj = json;
    if (typeof json === "string") {
      try {
        obj = JSON.parse(json);
      } catch (err) {
        throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
      }
    }
    return new Tokenizer(configFromJson(obj, source));
  }

  /** Loads a tokenizer.json file. */
  static load(path: string): Tokenizer {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? String(err)})`);
    }
    return Tokenizer.fromJSON(text, path);
  }

  /** The tokenizer.json object, in the layout the Rust library writes. */
  toJSON(): Record<string, unknown> {
    return configToJson(this.config);
  }

  /** tokenizer.json text (compact, or indented with `pretty`). */
  toString(pretty = false): string {
    return JSON.stringify(this.toJSON(), null, pretty ? 2 : undefined);
  }

  /** Writes tokenizer.json atomically (temp file, then rename). */
  save(path: string, pretty = false): void {
    writeFileAtomicSync(path, this.toString(pretty));
  }

  /** A copy of the tokenizer's parts. */
  getConfig(): TokenizerConfig {
    return structuredClone(this.config);
  }

  /** Size of the id space (model vocabulary and added tokens). */
  get vocabSize(): number {
    return this.idToTokenTable.length;
  }

  /** Truncation length (special tokens included), or null. */
  get maxLength(): number | null {
    return this.config.maxLength;
  }

  /** Sets or clears truncation. */
  setTruncation(maxLength: number | null): void {
    if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 1))
      throw new Error(`truncation: expected an integer >= 1, got ${maxLength}`);
    this.config.maxLength = maxLength;
  }

  /** Padding settings, or null. */
  get padding(): TokenizerConfig["padding"] {
    return this.config.padding === null ? null : { ...this.config.padding };
  }

  /** Sets padding ("longest" in a batch, or a fixed length) with `padToken` (default [PAD]), or clears it. */
  setPadding(length: "longest" | number | null, padToken = "[PAD]"): void {
    if (length === null) {
      this.config.padding = null;
      return;
    }
    const padId = this.tokenToIdTable.get(padToken);
    if (padId === undefined) throw new Error(`padding: pad token "${padToken}" is not in the vocabulary`);
    if (length !== "longest" && (!Number.isInteger(length) || length < 1))
      throw new Error(`padding: expected "longest" or an integer >= 1, got ${length}`);
    this.config.padding = { length, padId, padToken };
  }

  /** Id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenToIdTable.get(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return id >= 0 && id < this.idToTokenTable.length ? this.idToTokenTable[id] : undefined;
  }

  /** Ids of the special tokens, ascending. */
  get specialTokenIds(): number[] {
    return [...this.specialIds].sort((a, b) => a - b);
  }

  /** True when `id` is a special token ([PAD], [CLS], [SEP], [MASK], [UNK] in the tutorial's setup). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Ids only, with [CLS]/[SEP] and truncation, no padding: the fast path for building datasets.
   * The returned array is fresh (a copy out of an internal buffer).
   */
  encodeIds(text: string): Int32Array {
    const c = this.config;
    const tpl = c.template;
    const limit = c.maxLength === null ? Infinity : Math.max(0, c.maxLength - (tpl === null ? 0 : 2));
    let n = 0;
    const push = (id: number): void => {
      if (n === this.idBuf.length) {
        const b = new Int32Array(this.idBuf.length * 2);
        b.set(this.idBuf);
        this.idBuf = b;
      }
      this.idBuf[n++] = id;
    };
    if (tpl !== null) push(tpl.cls.id);
    const first = n;
    this.forEachSegment(text, (seg, special) => {
      if (special >= 0) {
        push(special);
        return;
      }
      const norm = this.normalizeText(seg);
      const count = this.scan(norm);
      for (let t = 0; t < count && n - first < limit; t++) {
        const ids = this.model.tokenize(norm.slice(this.bounds[2 * t], this.bounds[2 * t + 1])).ids;
        for (let k = 0; k < ids.length; k++) push(ids[k]);
      }
    });
    if (n - first > limit) n = first + limit;
    if (tpl !== null) push(tpl.sep.id);
    return this.idBuf.slice(0, n);
  }

  /**
   * Encodes one sentence: ids, tokens, masks and offsets, truncated and padded as configured
   * (a "longest" padding leaves a single sentence as it is).
   *
   * @example
   *   tok.encode("I like [MASK].").tokens // ["[CLS]", "i", "like", "[MASK]", ".", "[SEP]"]
   */
  encode(text: string): Encoding {
    const e = this.encodeUnpadded(text);
    const pad = this.config.padding;
    if (pad !== null && typeof pad.length === "number") this.pad(e, pad.length);
    return e;
  }

  /** Encodes several sentences; with "longest" padding all come out as long as the longest. */
  encodeBatch(texts: readonly string[]): Encoding[] {
    const out = texts.map((t) => this.encodeUnpadded(t));
    const pad = this.config.padding;
    if (pad !== null) {
      let len = 0;
      if (pad.length === "longest") for (const e of out) len = Math.max(len, e.ids.length);
      else len = pad.length;
      for (const e of out) this.pad(e, len);
    }
    return out;
  }

  /**
   * Turns ids back into text: special tokens skipped (by default), `##` pieces glued to the previous
   * piece, other pieces separated by spaces, and the WordPiece clean-up of spaces before punctuation.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skip && this.specialIds.has(id)) continue;
      const t = this.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    const d = this.config.decoder;
    if (d === null) return tokens.join(" ");
    if (d.type === "bpe") {
      return tokens.map((t, i) => t.split(d.suffix).join(i === tokens.length - 1 ? "" : " ")).join("");
    }
    let out = "";
    for (let i = 0; i < tokens.length; i++) {
      let t = tokens[i];
      if (i !== 0) t = t.startsWith(d.prefix) ? t.slice(d.prefix.length) : " " + t;
      out += d.cleanup ? cleanup(t) : t;
    }
    return out;
  }

  /** Pre-token boundaries of normalized text into `this.bounds`; without a pre-tokenizer the text is one word. */
  private scan(norm: string): number {
    const kind = this.config.preTokenizer;
    if (kind !== null) return scanPreTokens(norm, kind, this.bounds);
    if (norm.length === 0) return 0;
    this.bounds[0] = 0;
    this.bounds[1] = norm.length;
    return 1;
  }

  private normalizeText(s: string): string {
    if (this.identityNormalizer) return s;
    const n = this.config.normalizer;
    if (n.lowercase && !n.nfkc && !n.stripAccents) return lowercase(s);
    return normalize(s, n);
  }

  /** Splits raw text on added tokens; calls `f(segment, -1)` for text and `f(content, id)` for added tokens. */
  private forEachSegment(text: string, f: (segment: string, addedId: number, start: number) => void): void {
    const re = this.addedRe;
    if (re === null) {
      if (text.length > 0) f(text, -1, 0);
      return;
    }
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > last) f(text.slice(last, m.index), -1, last);
      f(m[0], this.addedByContent.get(m[0]) as number, m.index);
      last = m.index + m[0].length;
    }
    if (last < text.length) f(text.slice(last), -1, last);
  }

  private encodeUnpadded(text: string): EncodingImpl {
    const c = this.config;
    const tpl = c.template;
    const ids: number[] = [];
    const offs: number[] = []; // flat [start, end] pairs, UTF-16
    const special: number[] = [];
    if (tpl !== null) {
      ids.push(tpl.cls.id);
      offs.push(0, 0);
      special.push(1);
    }
    const first = ids.length;
    const limit = first + (c.maxLength === null ? Infinity : Math.max(0, c.maxLength - (tpl === null ? 0 : 2)));
    this.forEachSegment(text, (seg, added, segStart) => {
      if (ids.length >= limit) return;
      if (added >= 0) {
        ids.push(added);
        offs.push(segStart, segStart + seg.length);
        special.push(0);
        return;
      }
      const norm = this.normalizeText(seg);
      const align = norm.length === seg.length ? null : alignment(seg, norm, (s) => this.normalizeText(s));
      const count = this.scan(norm);
      for (let t = 0; t < count && ids.length < limit; t++) {
        const s = this.bounds[2 * t];
        const { ids: wordIds, lens } = this.model.tokenize(norm.slice(s, this.bounds[2 * t + 1]));
        let p = s;
        for (let k = 0; k < wordIds.length; k++) {
          ids.push(wordIds[k]);
          special.push(0);
          const q = p + lens[k];
          if (align === null) offs.push(segStart + p, segStart + q);
          else offs.push(segStart + align[2 * p], segStart + align[2 * q - 1]);
          p = q;
        }
      }
    });
    if (ids.length > limit) {
      ids.length = special.length = limit;
      offs.length = 2 * limit;
    }
    if (tpl !== null) {
      ids.push(tpl.sep.id);
      offs.push(0, 0);
      special.push(1);
    }
    if (SURROGATE.test(text)) toCodePointOffsets(text, offs);
    return new EncodingImpl(ids, offs, special, this.idToTokenTable);
  }

  private pad(e: EncodingImpl, length: number): void {
    const pad = this.config.padding;
    if (pad === null) return;
    while (e.ids.length < length) e.pushPad(pad.padId);
  }
}

/**
 * An `Encoding` whose `tokens` and `offsets` are built on first access from compact arrays: batch
 * encoding then costs little more than ids when callers only read ids and masks.
 */
class EncodingImpl implements Encoding {
  readonly attentionMask: number[];
  // ES private fields stay out of console.log and JSON output.
  #flatOffsets: number[];
  #table: readonly string[];
  #tokens: string[] | null = null;
  #offsets: [number, number][] | null = null;

  constructor(
    readonly ids: number[],
    flatOffsets: number[],
    readonly specialTokensMask: number[],
    table: readonly string[],
  ) {
    this.attentionMask = new Array<number>(ids.length).fill(1);
    this.#flatOffsets = flatOffsets;
    this.#table = table;
  }

  get tokens(): string[] {
    this.#tokens ??= this.ids.map((id) => this.#table[id]);
    return this.#tokens;
  }

  get offsets(): [number, number][] {
    if (this.#offsets === null) {
      const o = this.#flatOffsets;
      const out = new Array<[number, number]>(o.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = [o[2 * i], o[2 * i + 1]];
      this.#offsets = out;
    }
    return this.#offsets;
  }

  /** Appends one padding position. */
  pushPad(padId: number): void {
    this.ids.push(padId);
    this.attentionMask.push(0);
    this.specialTokensMask.push(1);
    this.#flatOffsets.push(0, 0);
    this.#tokens?.push(this.#table[padId]);
    this.#offsets?.push([0, 0]);
  }

  /** Plain-object form (what `JSON.stringify` shows). */
  toJSON(): Encoding {
    const { ids, tokens, attentionMask, specialTokensMask, offsets } = this;
    return { ids, tokens, attentionMask, specialTokensMask, offsets };
  }
}

/** The WordPiece decoder's clean-up of spaces (as Hugging Face's `cleanup`), applied per piece. */
function cleanup(s: string): string {
  return s
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * When normalization changed the length (e.g. "İ" lowercases to two units), maps each UTF-16 unit of
 * the normalized text to the [start, end) of the original character it came from (as Rust's alignments
 * do): `map[2u]`, `map[2u + 1]`. Built by normalizing one code point at a time; if that does not
 * reproduce `norm` (normalization across characters), positions are scaled proportionally instead.
 */
function alignment(orig: string, norm: string, normalizeOne: (s: string) => string): Int32Array {
  const map = new Int32Array(2 * norm.length + 2);
  let built = "";
  let o = 0;
  for (const ch of orig) {
    const piece = normalizeOne(ch);
    for (let k = 0; k < piece.length && built.length + k < norm.length; k++) {
      map[2 * (built.length + k)] = o;
      map[2 * (built.length + k) + 1] = o + ch.length;
    }
    built += piece;
    o += ch.length;
  }
  if (built !== norm) {
    const scale = orig.length / Math.max(1, norm.length);
    for (let i = 0; i < norm.length; i++) {
      map[2 * i] = Math.floor(i * scale);
      map[2 * i + 1] = Math.min(orig.length, Math.max(Math.floor(i * scale) + 1, Math.ceil((i + 1) * scale)));
    }
  }
  return map;
}

/** Converts flat UTF-16 offsets into code-point offsets, in place. */
function toCodePointOffsets(text: string, offsets: number[]): void {
  const cp = new Int32Array(text.length + 1);
  let c = 0;
  for (let i = 0; i < text.length; i++) {
    cp[i] = c;
    const u = text.charCodeAt(i);
    if (!(u >= 0xd800 && u <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00)) c++;
  }
  cp[text.length] = c;
  for (let i = 0; i < offsets.length; i++) offsets[i] = cp[offsets[i]];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
