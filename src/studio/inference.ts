/**
 * Fill-mask and tokenization for the studio, through the same pipelines as `mlm fill` (same backend
 * default, so the page shows the same predictions as the command). Loaded models are kept, a few at a
 * time, and reloaded when their checkpoint is rewritten (best/ changes whenever a running job improves).
 *
 * @example
 *   const models = new ModelCache();
 *   await models.fill("/srv/runs/demo/best", "I like [MASK].", 5);   // [[{score, token, token_str, sequence}, ...]]
 *   await models.tokenize("/srv/runs/demo", "I like zebras.");        // {tokens, ids, offsets, unk}
 *   models.dispose();
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  FILL_MASK_OPTIONS,
  fillMasks,
  loadModel,
  type FillMaskPrediction,
  type LoadedModel,
} from "../pipelines/index.js";
import { CHECKPOINT_FILES, RUN_FILES } from "../run/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { checkValue } from "../config/index.js";
import { HttpError } from "./http.js";

/** Models kept loaded at once (each holds its weights and kernels' buffers). */
const MAX_MODELS = 4;

export interface Tokenized {
  tokens: string[];
  ids: number[];
  /** [start, end) in characters of the text; [0, 0] for [CLS] and [SEP]. */
  offsets: [number, number][];
  /** Whether each token is the tokenizer's unknown token. */
  unk: boolean[];
}

/** The error of a pipeline as a 400: what it says is about the request (no [MASK], text too long, ...). */
function asBadRequest(err: unknown): HttpError {
  return err instanceof HttpError ? err : new HttpError(400, (err as Error).message.split("\n")[0]);
}

export class ModelCache {
  /** Checkpoint real path -> the model and the modification time of the weights it was loaded from. */
  private readonly models = new Map<string, { loaded: Promise<LoadedModel>; mtime: number }>();

  /** The model of checkpoint folder `dir`, loaded on first use or when its weights changed. */
  private async model(dir: string): Promise<LoadedModel> {
    // Missing while a trainer swaps the checkpoint in: loadModel reads the whole previous or new one.
    const mtime = (await stat(join(dir, CHECKPOINT_FILES.model)).catch(() => null))?.mtimeMs ?? -1;
    const cached = this.models.get(dir);
    if (cached !== undefined && cached.mtime === mtime) return cached.loaded;
    if (cached !== undefined) this.drop(dir);
    // Same kernels as `mlm fill` (its default backend is the plain TypeScript one).
    const loaded = loadModel(dir, { backend: "ts", maxBatch: 1 });
    this.models.set(dir, { loaded, mtime });
    loaded.catch(() => this.models.delete(dir));
    while (this.models.size > MAX_MODELS) this.drop(this.models.keys().next().value as string);
    return loaded;
  }

  private drop(dir: string): void {
    const cached = this.models.get(dir);
    this.models.delete(dir);
    void cached?.loaded.then((m) => m.dispose()).catch(() => undefined);
  }

  /** The top-`topK` candidates for each [MASK] of `text`, as `mlm fill --json` prints them. */
  async fill(checkpointDir: string, text: string, topK: unknown): Promise<FillMaskPrediction[][]> {
    try {
      const k = checkValue(FILL_MASK_OPTIONS.topK, topK ?? FILL_MASK_OPTIONS.topK.default, "topK") as number;
      return fillMasks(await this.model(checkpointDir), text, { topK: k });
    } catch (err) {
      throw asBadRequest(err);
    }
  }

  /** `text` as run `runDir`'s tokenizer encodes it. */
  async tokenize(runDir: string, text: string): Promise<Tokenized> {
    try {
      const json: unknown = JSON.parse(await readFile(join(runDir, RUN_FILES.tokenizer), "utf8"));
      const tokenizer = Tokenizer.fromJSON(json, RUN_FILES.tokenizer);
      const unkToken = (json as { model?: { unk_token?: unknown } }).model?.unk_token;
      const e = tokenizer.encode(text);
      return { tokens: e.tokens, ids: e.ids, offsets: e.offsets, unk: e.tokens.map((t) => t === unkToken) };
    } catch (err) {
      throw asBadRequest(err);
    }
  }

  /** Releases every loaded model. */
  dispose(): void {
    for (const dir of [...this.models.keys()]) this.drop(dir);
  }
}
