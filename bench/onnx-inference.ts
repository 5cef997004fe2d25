/**
 * The other side of the inference benchmark (finetune.ts): a classifier exported to ONNX as
 * `mlm export --format onnx` exports it (mlmOnnxModel + encodeModel: outputs `logits` [B, labels] and
 * `last_hidden_state` [B, S, C]), run by ONNX Runtime Web (WebAssembly, in Node) on the same number of
 * threads. A batch of mlm-ts's packed rows becomes ONNX's padded int64 `input_ids` and
 * `attention_mask` [B, S] (S: the batch's longest sentence), built for every batch as a user of ONNX
 * Runtime would build them; `embed` pools the real tokens of `last_hidden_state` (mean, as mlm-ts's).
 *
 * @example
 *   const onnx = await OnnxClassifier.create(cls.config, cls.tensors(), 2, 2);
 *   const logits = await onnx.logits(batch); // [B * 2]
 *   await onnx.release();
 */
import * as ort from "onnxruntime-web";
import type { Batch } from "../src/data/index.js";
import { encodeModel, mlmOnnxModel } from "../src/interop/index.js";
import type { ModelConfig, NamedTensor } from "../src/model/index.js";

/** The sentences of `batch` padded to its longest: int64 ids (padding `padId`) and the mask, [B, S]. */
export function paddedInputs(batch: Batch, padId: number): { ids: ort.Tensor; mask: ort.Tensor } {
  const B = batch.numSeqs;
  let S = 0;
  for (let b = 0; b < B; b++) S = Math.max(S, batch.seqs[3 * b + 2]);
  const ids = new BigInt64Array(B * S).fill(BigInt(padId));
  const mask = new BigInt64Array(B * S);
  for (let b = 0; b < B; b++) {
    const first = batch.seqs[3 * b];
    const K = batch.seqs[3 * b + 2];
    for (let t = 0; t < K; t++) {
      ids[b * S + t] = BigInt(batch.ids[first + t]);
      mask[b * S + t] = 1n;
    }
  }
  return { ids: new ort.Tensor("int64", ids, [B, S]), mask: new ort.Tensor("int64", mask, [B, S]) };
}

/** An exported classifier in an ONNX Runtime Web session. */
export class OnnxClassifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly padId: number,
  ) {}

  /**
   * The classifier of shape `config` with `tensors` (ClassifierModel.tensors()) exported to ONNX and
   * opened on `threads` threads (ONNX Runtime takes the count once, at its first session).
   */
  static async create(
    config: ModelConfig,
    tensors: NamedTensor[],
    numLabels: number,
    threads: number,
    padId = 0,
  ): Promise<OnnxClassifier> {
    ort.env.wasm.numThreads = threads;
    const bytes = Buffer.concat(
      encodeModel(
        mlmOnnxModel(config, tensors, "bench", {
          task: "text-classification",
          numLabels,
          pooling: "cls",
          head: "tutorial",
        }),
      ),
    );
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    return new OnnxClassifier(session, padId);
  }

  /** The batch's logits [B * labels]. */
  async logits(batch: Batch): Promise<Float32Array> {
    const { ids, mask } = paddedInputs(batch, this.padId);
    const out = await this.session.run({ input_ids: ids, attention_mask: mask }, ["logits"]);
    return out.logits.data as Float32Array;
  }

  /** The mean of each sentence's real token vectors [B * C] (padding left out), from last_hidden_state. */
  async embed(batch: Batch): Promise<Float32Array> {
    const { ids, mask } = paddedInputs(batch, this.padId);
    const out = await this.session.run({ input_ids: ids, attention_mask: mask }, ["last_hidden_state"]);
    const [B, S, C] = out.last_hidden_state.dims as number[];
    const x = out.last_hidden_state.data as Float32Array;
    const pooled = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      const K = batch.seqs[3 * b + 2];
      for (let t = 0; t < K; t++) {
        const row = (b * S + t) * C;
        for (let c = 0; c < C; c++) pooled[b * C + c] += x[row + c];
      }
      for (let c = 0; c < C; c++) pooled[b * C + c] /= K;
    }
    return pooled;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
