/**
 * One split of a PyTorch export's data as .npy shards (npy.ts), written sentence by sentence with
 * memory bounded by the shard size, never the split's: a shard is written when the next sentence would
 * not fit, then its buffers are reused. mlm_torch.py memory-maps the ids and reads the rest whole.
 *
 *   data/<split>-<k 5 digits>.ids.npy       [tokens of shard k] the sentences' ids back to back, uint16
 *                                           when the vocabulary fits (<= 65536 ids), else int32
 *   data/<split>-<k>.offsets.npy            [sentences of shard k + 1] int32: sentence j of the shard is
 *                                           ids[offsets[j]:offsets[j + 1]] (offsets[0] = 0)
 *   data/<split>-<k>.labels.npy             (with token labels) [tokens of shard k] int32, one per id
 *   data/<split>-<k>.classes.npy            (with classes) [sentences of shard k] int32, one per sentence
 *
 * Sentences keep their order: the split's sentence i is in the first shard whose sentences reach past i.
 *
 * @example
 *   const w = new NpyShardWriter(out, "train", { vocabSize: 8000, shardTokens: 1 << 24 });
 *   for (let i = 0; i < split.count; i++) await w.add(sentenceIds(split, i));
 *   const summary = await w.finish(); // { sentences, tokens, shards }, for config.json's "data"
 */
import type { DirectoryWriter } from "../run/index.js";
import { npyArray, npyInt32 } from "./npy.js";

/** What config.json's "data" records of a split. */
export interface ShardedSplitSummary {
  sentences: number;
  tokens: number;
  shards: number;
}

export interface NpyShardOptions {
  /** The tokenizer's vocabulary size: ids are written as uint16 when every id fits. */
  vocabSize: number;
  /** The most tokens one shard holds (every sentence must fit in one). */
  shardTokens: number;
  /** Whether each token has a label (the masked LM's validation split). */
  labels?: boolean;
  /** Whether each sentence has a class (a classifier's splits). */
  classes?: boolean;
}

/** The ids' .npy dtype for a vocabulary: "uint16" when every id fits, else "int32". */
export function idsDtype(vocabSize: number): "uint16" | "int32" {
  return vocabSize <= 0x10000 ? "uint16" : "int32";
}

/** The file name of shard `k` of `split`'s `column` (ids, offsets, labels or classes). */
export function shardFile(split: string, k: number, column: string): string {
  return `data/${split}-${String(k).padStart(5, "0")}.${column}.npy`;
}

export class NpyShardWriter {
  private readonly ids: Uint16Array | Int32Array;
  private readonly labels: Int32Array | null;
  /** The shard's sentence offsets and classes so far (at most shardTokens sentences). */
  private offsets: number[] = [0];
  private classes: number[] = [];
  private used = 0;
  private shards = 0;
  private sentences = 0;
  private tokens = 0;
  /** The names of the files written, in order. */
  readonly files: string[] = [];

  constructor(
    private readonly out: DirectoryWriter,
    private readonly split: string,
    private readonly options: NpyShardOptions,
  ) {
    const n = options.shardTokens;
    if (!(Number.isInteger(n) && n >= 1 && n <= 0x7fffffff))
      throw new Error(`shardTokens must be a whole number in [1, 2^31 - 1], got ${n}`);
    this.ids = idsDtype(options.vocabSize) === "uint16" ? new Uint16Array(n) : new Int32Array(n);
    this.labels = options.labels ? new Int32Array(n) : null;
  }

  /** Adds one sentence (with its tokens' labels, or its class, as the options say). */
  async add(ids: ArrayLike<number>, extra: { labels?: ArrayLike<number>; cls?: number } = {}): Promise<void> {
    const n = ids.length;
    if (n === 0) throw new Error(`${this.split}: sentence ${this.sentences} is empty`);
    if (n > this.options.shardTokens)
      throw new Error(
        `${this.split}: sentence ${this.sentences} has ${n} tokens, more than a shard's ${this.options.shardTokens}`,
      );
    if (this.used + n > this.options.shardTokens) await this.flush();
    for (let j = 0; j < n; j++) {
      const id = ids[j];
      if (!(id >= 0 && id < this.options.vocabSize))
        throw new Error(`${this.split}: sentence ${this.sentences} has id ${id} outside the vocabulary`);
      this.ids[this.used + j] = id;
    }
    if (this.labels !== null) {
      if (extra.labels === undefined || extra.labels.length !== n)
        throw new Error(`${this.split}: sentence ${this.sentences} needs one label per token`);
      for (let j = 0; j < n; j++) this.labels[this.used + j] = extra.labels[j];
    }
    if (this.options.classes) {
      if (extra.cls === undefined) throw new Error(`${this.split}: sentence ${this.sentences} needs its class`);
      this.classes.push(extra.cls);
    }
    this.used += n;
    this.offsets.push(this.used);
    this.sentences++;
    this.tokens += n;
  }

  /** Writes the last shard; returns what config.json records. */
  async finish(): Promise<ShardedSplitSummary> {
    if (this.used > 0 || this.shards === 0) await this.flush();
    return { sentences: this.sentences, tokens: this.tokens, shards: this.shards };
  }

  private async flush(): Promise<void> {
    const k = this.shards++;
    const write = async (column: string, data: readonly Uint8Array[]): Promise<void> => {
      const name = shardFile(this.split, k, column);
      await this.out.writeFile(name, data);
      this.files.push(name);
    };
    await write("ids", npyArray(this.ids.subarray(0, this.used)));
    await write("offsets", npyInt32(Int32Array.from(this.offsets)));
    if (this.labels !== null) await write("labels", npyInt32(this.labels.subarray(0, this.used)));
    if (this.options.classes) await write("classes", npyInt32(Int32Array.from(this.classes)));
    this.used = 0;
    this.offsets = [0];
    this.classes = [];
  }
}
