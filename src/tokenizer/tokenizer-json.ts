/**
 * Hugging Face `tokenizer.json`: reading and writing the parts mlm-ts uses.
 *
 * Written in the layout `tokenizers` 0.23 saves (same key order; merges as ["a", "b"] arrays); read
 * from either merge form ("a b" strings, as older files have, or arrays). Components outside this set
 * are rejected with a clear error rather than silently ignored: normalizers Lowercase, NFKC, NFD, NFC,
 * NFKD, StripAccents, Sequence; pre-tokenizers Whitespace, WhitespaceSplit; post-processors
 * TemplateProcessing ([CLS] $A [SEP] shape) and BertProcessing; decoders WordPiece and BPEDecoder.
 */
import type { NormalizerConfig, PreTokenizerKind } from "./pretokenize.js";

/** An added (special) token: matched in raw text before normalization, never split. */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** A special token placed by the post-processor. */
export interface TemplateToken {
  token: string;
  id: number;
}

/** Everything a `Tokenizer` is made of, in a form independent of the JSON layout. */
export interface TokenizerConfig {
  normalizer: NormalizerConfig;
  preTokenizer: PreTokenizerKind | null;
  /** Model tokens in id order. */
  vocab: string[];
  merges: [string, string][];
  unkToken: string | null;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  addedTokens: AddedToken[];
  /** Tokens put around each sentence ([CLS] ... [SEP]), or null. */
  template: { cls: TemplateToken; sep: TemplateToken } | null;
  maxLength: number | null;
  padding: { length: "longest" | number; padId: number; padToken: string } | null;
  decoder: { type: "wordpiece"; prefix: string; cleanup: boolean } | { type: "bpe"; suffix: string } | null;
}

type Json = Record<string, unknown>;

/** Builds the tokenizer.json object (key order as `tokenizers` writes it). */
export function configToJson(c: TokenizerConfig): Json {
  const vocab: Record<string, number> = {};
  c.vocab.forEach((t, id) => (vocab[t] = id));
  return {
    version: "1.0",
    truncation:
      c.maxLength === null
        ? null
        : { direction: "Right", max_length: c.maxLength, strategy: "LongestFirst", stride: 0 },
    padding:
      c.padding === null
        ? null
        : {
            strategy: c.padding.length === "longest" ? "BatchLongest" : { Fixed: c.padding.length },
            direction: "Right",
            pad_to_multiple_of: null,
            pad_id: c.padding.padId,
            pad_type_id: 0,
            pad_token: c.padding.padToken,
          },
    added_tokens: c.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: normalizerToJson(c.normalizer),
    pre_tokenizer:
      c.preTokenizer === null ? null : { type: c.preTokenizer === "whitespace" ? "Whitespace" : "WhitespaceSplit" },
    post_processor: c.template === null ? null : templateToJson(c.template.cls, c.template.sep),
    decoder:
      c.decoder === null
        ? null
        : c.decoder.type === "wordpiece"
          ? { type: "WordPiece", prefix: c.decoder.prefix, cleanup: c.decoder.cleanup }
          : { type: "BPEDecoder", suffix: c.decoder.suffix },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: c.unkToken,
      continuing_subword_prefix: c.continuingSubwordPrefix,
      end_of_word_suffix: c.endOfWordSuffix,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: c.merges,
    },
  };
}

function normalizerToJson(n: NormalizerConfig): Json | null {
  const steps: Json[] = [];
  if (n.nfkc) steps.push({ type: "NFKC" });
  if (n.lowercase) steps.push({ type: "Lowercase" });
  if (n.stripAccents) steps.push({ type: "NFD" }, { type: "StripAccents" });
  if (steps.length === 0) return null;
  if (steps.length === 1) return steps[0];
  return { type: "Sequence", normalizers: steps };
}

function templateToJson(cls: TemplateToken, sep: TemplateToken): Json {
  const special = (t: TemplateToken, typeId: number): Json => ({ SpecialToken: { id: t.token, type_id: typeId } });
  const seq = (id: string, typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  const specialTokens: Json = {};
  for (const t of [cls, sep]) specialTokens[t.token] = { id: t.token, ids: [t.id], tokens: [t.token] };
  return {
    type: "TemplateProcessing",
    single: [special(cls, 0), seq("A", 0), special(sep, 0)],
    pair: [special(cls, 0), seq("A", 0), special(sep, 0), seq("B", 1), special(sep, 1)],
    special_tokens: specialTokens,
  };
}

/** Parses a tokenizer.json object; `source` names the file in error messages. */
export function configFromJson(json: unknown, source: string): TokenizerConfig {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!isObj(json)) fail("expected a JSON object (a Hugging Face tokenizer.json)");
  const j = json as Json;
  const model = j.model;
  if (!isObj(model) || model.type !== "BPE")
    fail(`unsupported model ${isObj(model) ? JSON.stringify(model.type) : "(missing)"}: expected "BPE"`);
  const m = model as Json;
  if (!isObj(m.vocab)) fail("model.vocab: expected an object token -> id");
  const vocab: string[] = [];
  for (const [tok, id] of Object.entries(m.vocab as Json)) {
    if (!Number.isInteger(id) || (id as number) < 0) fail(`model.vocab["${tok}"]: expected a non-negative integer id`);
    vocab[id as number] = tok;
  }
  for (let i = 0; i < vocab.length; i++) if (vocab[i] === undefined) fail(`model.vocab: id ${i} is missing`);
  if (!Array.isArray(m.merges)) fail("model.merges: expected an array");
  const merges = (m.merges as unknown[]).map((x, i): [string, string] => {
    if (typeof x === "string") {
      const parts = x.split(" ");
      if (parts.length !== 2) fail(`model.merges[${i}]: expected "a b", got ${JSON.stringify(x)}`);
      return [parts[0], parts[1]];
    }
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string") return [x[0], x[1]];
    return fail(`model.merges[${i}]: expected "a b" or ["a", "b"], got ${JSON.stringify(x)}`);
  });
  if (m.dropout !== null && m.dropout !== undefined) fail("model.dropout: BPE dropout is not supported");
  if (m.byte_fallback === true) fail("model.byte_fallback: not supported");
  if (m.fuse_unk === true) fail("model.fuse_unk: not supported");
  const str = (v: unknown, what: string): string | null => {
    if (v === null || v === undefined) return null;
    if (typeof v !== "string") fail(`${what}: expected a string or null`);
    return v as string;
  };
  const addedTokens: AddedToken[] = [];
  if (j.added_tokens !== undefined && j.added_tokens !== null) {
    if (!Array.isArray(j.added_tokens)) fail("added_tokens: expected an array");
    for (const [i, t] of (j.added_tokens as unknown[]).entries()) {
      if (!isObj(t) || typeof t.content !== "string" || !Number.isInteger(t.id))
        fail(`added_tokens[${i}]: expected {id, content, ...}`);
      const tt = t as Json;
      if (tt.single_word === true || tt.lstrip === true || tt.rstrip === true)
        fail(`added_tokens[${i}]: single_word/lstrip/rstrip are not supported`);
      addedTokens.push({ id: tt.id as number, content: tt.content as string, special: tt.special === true });
    }
  }
  const cfg: TokenizerConfig = {
    normalizer: normalizerFromJson(j.normalizer, fail),
    preTokenizer: preTokenizerFromJson(j.pre_tokenizer, fail),
    vocab,
    merges,
    unkToken: str(m.unk_token, "model.unk_token"),
    continuingSubwordPrefix: str(m.continuing_subword_prefix, "model.continuing_subword_prefix"),
    endOfWordSuffix: str(m.end_of_word_suffix, "model.end_of_word_suffix"),
    addedTokens,
    template: templateFromJson(j.post_processor, fail),
    maxLength: null,
    padding: null,
    decoder: decoderFromJson(j.decoder, fail),
  };
  if (isObj(j.truncation)) {
    const t = j.truncation;
    if (!Number.isInteger(t.max_length)) fail("truncation.max_length: expected an integer");
    if (t.direction !== undefined && t.direction !== "Right") fail('truncation.direction: only "Right" is supported');
    if (t.stride !== undefined && t.stride !== 0) fail("truncation.stride: only 0 is supported");
    cfg.maxLength = t.max_length as number;
  }
  if (isObj(j.padding)) {
    const p = j.padding;
    let length: "longest" | number = "longest";
    if (isObj(p.strategy) && Number.isInteger(p.strategy.Fixed)) length = p.strategy.Fixed as number;
    else if (p.strategy !== "BatchLongest") fail('padding.strategy: expected "BatchLongest" or {"Fixed": n}');
    if (p.direction !== undefined && p.direction !== "Right") fail('padding.direction: only "Right" is supported');
    if (p.pad_to_multiple_of !== null && p.pad_to_multiple_of !== undefined)
      fail("padding.pad_to_multiple_of: not supported");
    cfg.padding = { length, padId: Number(p.pad_id ?? 0), padToken: String(p.pad_token ?? "[PAD]") };
  }
  return cfg;
}

type Fail = (what: string) => never;

function normalizerFromJson(n: unknown, fail: Fail): NormalizerConfig {
  const cfg: NormalizerConfig = { nfkc: false, lowercase: false, stripAccents: false };
  if (n === null || n === undefined) return cfg;
  const steps = isObj(n) && n.type === "Sequence" ? (n.normalizers as unknown[]) : [n];
  const types = steps.map((s) => (isObj(s) ? String(s.type) : "?"));
  // Accepted orders: [NFKC] [Lowercase] [NFD StripAccents | StripAccents], each optional.
  let i = 0;
  if (types[i] === "NFKC") {
    cfg.nfkc = true;
    i++;
  }
  if (types[i] === "Lowercase") {
    cfg.lowercase = true;
    i++;
  }
  if (types[i] === "NFD" && types[i + 1] === "StripAccents") {
    cfg.stripAccents = true;
    i += 2;
  } else if (types[i] === "StripAccents") {
    cfg.stripAccents = true;
    i++;
  }
  if (i !== types.length)
    fail(
      `normalizer: unsupported sequence [${types.join(", ")}] (supported: NFKC, Lowercase, NFD+StripAccents, in this order)`,
    );
  return cfg;
}

function preTokenizerFromJson(p: unknown, fail: Fail): PreTokenizerKind | null {
  if (p === null || p === undefined) return null;
  if (isObj(p) && p.type === "Whitespace") return "whitespace";
  if (isObj(p) && p.type === "WhitespaceSplit") return "whitespace-split";
  if (isObj(p) && p.type === "Sequence" && Array.isArray(p.pretokenizers) && p.pretokenizers.length === 1) {
    return preTokenizerFromJson(p.pretokenizers[0], fail);
  }
  return fail(
    `pre_tokenizer: unsupported ${JSON.stringify(isObj(p) ? p.type : p)} (supported: Whitespace, WhitespaceSplit)`,
  );
}

function templateFromJson(p: unknown, fail: Fail): TokenizerConfig["template"] {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) return fail("post_processor: expected an object");
  if (p.type === "BertProcessing") {
    const pair = (v: unknown, what: string): TemplateToken => {
      if (!Array.isArray(v) || typeof v[0] !== "string" || !Number.isInteger(v[1]))
        fail(`post_processor.${what}: expected [token, id]`);
      return { token: (v as [string, number])[0], id: (v as [string, number])[1] };
    };
    return { cls: pair(p.cls, "cls"), sep: pair(p.sep, "sep") };
  }
  if (p.type !== "TemplateProcessing")
    return fail(
      `post_processor: unsupported ${JSON.stringify(p.type)} (supported: TemplateProcessing, BertProcessing)`,
    );
  const single = p.single as Json[];
  const specials = (p.special_tokens ?? {}) as Record<string, Json>;
  const ok =
    Array.isArray(single) &&
    single.length === 3 &&
    isObj(single[0].SpecialToken) &&
    isObj(single[1].Sequence) &&
    isObj(single[2].SpecialToken);
  if (!ok) return fail("post_processor.single: only the shape [special, $A, special] is supported");
  const tok = (x: Json): TemplateToken => {
    const name = String((x.SpecialToken as Json).id);
    const entry = specials[name];
    if (!isObj(entry) || !Array.isArray(entry.ids) || entry.ids.length !== 1)
      fail(`post_processor.special_tokens["${name}"]: expected one id`);
    return { token: name, id: (entry.ids as number[])[0] };
  };
  return { cls: tok(single[0]), sep: tok(single[2]) };
}

function decoderFromJson(d: unknown, fail: Fail): TokenizerConfig["decoder"] {
  if (d === null || d === undefined) return null;
  if (isObj(d) && d.type === "WordPiece")
    return { type: "wordpiece", prefix: String(d.prefix ?? "##"), cleanup: d.cleanup !== false };
  if (isObj(d) && d.type === "BPEDecoder") return { type: "bpe", suffix: String(d.suffix ?? "</w>") };
  return fail(`decoder: unsupported ${JSON.stringify(isObj(d) ? d.type : d)} (supported: WordPiece, BPEDecoder)`);
}

function isObj(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
