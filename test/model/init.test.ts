// Initialisation of the default-size model, tensor by tensor: Haiku's truncated normals (cut at 2
// std, so the sample std is 0.8796 of the nominal one), zero biases and offsets, unit scales.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { MlmModel } from "../../src/model/model.js";

/** Standard deviation of a unit normal truncated to [-2, 2]. */
const TRUNC_STD = 0.8796;

test("default-size model: linear weights and embeddings are truncated normals of the right scale; biases 0, scales 1", () => {
  const m = new MlmModel(new TsBackend(), {}, { maxRows: 8, maxSeqs: 1 });
  m.init(new Rng(2024));
  assert.equal(m.config.vocabSize, 25000);
  const covered = new Uint8Array(m.params.length);
  for (const s of m.specs) {
    const w = m.params.subarray(s.offset, s.offset + s.size);
    covered.fill(1, s.offset, s.offset + s.size);
    if (s.init === "zeros" || s.init === "ones") {
      const want = s.init === "ones" ? 1 : 0;
      assert.ok(
        w.every((x) => x === want),
        `${s.name}: every element ${want}`,
      );
      assert.ok(
        s.init === "ones" ? s.name.endsWith(".scale") : s.name.endsWith(".bias") || s.name.endsWith(".offset"),
        s.name,
      );
      continue;
    }
    // Haiku: a linear [in, out] weight has std 1/sqrt(fan_in), the embedding std 1 (embedInitStd's default)
    const nominal = s.name === "embed.weight" ? 1 : 1 / Math.sqrt(s.shape[0]);
    assert.equal(s.init, "normal", s.name);
    assert.equal(s.std, nominal, s.name);
    assert.ok(s.name.endsWith(".weight"), s.name);
    let sum = 0,
      sq = 0,
      max = 0;
    for (const x of w) {
      sum += x;
      sq += x * x;
      max = Math.max(max, Math.abs(x));
    }
    const mean = sum / w.length;
    const std = Math.sqrt(sq / w.length - mean * mean);
    assert.ok(max <= 2 * nominal * (1 + 1e-6), `${s.name}: |w| up to ${max}, bound ${2 * nominal}`);
    assert.ok(max > 1.8 * nominal, `${s.name}: values reach near the cut (max ${max}, cut ${2 * nominal})`);
    assert.ok(
      Math.abs(std / (TRUNC_STD * nominal) - 1) < 0.05,
      `${s.name}: std ${std}, expected ${TRUNC_STD * nominal}`,
    );
    assert.ok(Math.abs(mean) < 0.05 * nominal, `${s.name}: mean ${mean}`);
  }
  // alignment gaps between tensors stay zero
  for (let i = 0; i < m.params.length; i++) if (!covered[i]) assert.equal(m.params[i], 0, `gap element ${i}`);
});
