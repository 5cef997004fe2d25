/**
 * Tokenizing chunks of sentences on worker threads (started through src/platform), for the streamed
 * corpus pass: each worker builds the same tokenizer from its JSON and answers a chunk of sentences
 * with their ids one after the other and their lengths. Chunks are answered in the order they were
 * sent (the caller awaits them in that order), so the ids written are those of one thread, in the same
 * order.
 */
import { platform, type WorkerHandle } from "../platform/index.js";
import { Tokenizer } from "../tokenizer/index.js";

/** A chunk's sentences tokenized: `ids` every sentence's ids one after the other, `lengths[i]` sentence i's count. */
export interface EncodedChunk {
  ids: Int32Array;
  lengths: Int32Array;
}

/** Tokenizes `texts` on this thread, in the layout the workers answer with. */
export function encodeChunk(tokenizer: Tokenizer, texts: readonly string[]): EncodedChunk {
  const lengths = new Int32Array(texts.length);
  const parts: Int32Array[] = [];
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const ids = tokenizer.encodeIds(texts[i]);
    parts.push(ids);
    lengths[i] = ids.length;
    total += ids.length;
  }
  const ids = new Int32Array(total);
  let at = 0;
  for (const part of parts) {
    ids.set(part, at);
    at += part.length;
  }
  return { ids, lengths };
}

/** What a worker runs: the tokenizer of `json`, truncated to `maxLen`, encoding chunks. */
export function chunkEncoder(json: string, maxLen: number): (texts: readonly string[]) => EncodedChunk {
  const tokenizer = Tokenizer.fromJSON(json);
  tokenizer.setTruncation(maxLen);
  return (texts) => encodeChunk(tokenizer, texts);
}

/**
 * The worker: imports this module by URL (a classic script cannot `import` statically), builds the
 * encoder, posts "ready", then answers each chunk (string[]) with an `EncodedChunk`, or `{ error }`
 * when tokenizing throws.
 */
const WORKER_SOURCE = `function (data, postMessage, onMessage) {
  import(data.moduleUrl).then((m) => {
    const encode = m.chunkEncoder(data.json, data.maxLen);
    onMessage((texts) => {
      try {
        postMessage(encode(texts));
      } catch (err) {
        postMessage({ error: String(err && err.message ? err.message : err) });
      }
    });
    postMessage("ready");
  });
}`;

/** Worker threads tokenizing chunks; `encode` answers in the order of the calls to each worker (round robin). */
export class TokenizePool {
  private next = 0;

  private constructor(
    private readonly workers: WorkerHandle[],
    /** Per worker, the callbacks of its chunks in flight, oldest first (a worker answers in order). */
    private readonly waiting: { resolve: (c: EncodedChunk) => void; reject: (e: Error) => void }[][],
  ) {}

  /** Starts `threads` workers with `tokenizer` (truncated to `maxLen`); resolves once all are ready. */
  static async start(tokenizer: Tokenizer, maxLen: number, threads: number): Promise<TokenizePool> {
    const data = {
      moduleUrl: import.meta.url,
      json: tokenizer.toString(),
      maxLen,
    };
    const workers: WorkerHandle[] = [];
    const waiting: TokenizePool["waiting"] = [];
    for (let t = 0; t < threads; t++) {
      workers.push(platform().startWorker(WORKER_SOURCE, data, `tokenizer worker ${t}`));
      waiting.push([]);
    }
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    }
    workers.forEach((worker, t) => {
      const queue = waiting[t];
      worker.listen(
        (message) => {
          const callbacks = queue.shift();
          if (callbacks === undefined) return;
          const reply = message as EncodedChunk | { error: string };
          if ("error" in reply) callbacks.reject(new Error(reply.error));
          else callbacks.resolve(reply);
        },
        (err) => {
          for (const callbacks of queue.splice(0)) callbacks.reject(err);
        },
      );
    });
    return new TokenizePool(workers, waiting);
  }

  /** Tokenizes `texts` on the next worker. */
  encode(texts: readonly string[]): Promise<EncodedChunk> {
    const t = this.next;
    this.next = (t + 1) % this.workers.length;
    return new Promise<EncodedChunk>((resolve, reject) => {
      this.waiting[t].push({ resolve, reject });
      this.workers[t].post(texts);
    });
  }

  /** Stops the workers; chunks in flight are dropped, their promises left unsettled (no one awaits them). */
  close(): void {
    for (const queue of this.waiting) queue.length = 0;
    for (const w of this.workers) w.terminate();
  }
}
