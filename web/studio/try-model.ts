// The try-a-model panel's results: the top-k candidates of each [MASK] as bars, and a sentence's
// tokens with their ids and character offsets, the unknown token highlighted.
import type { Prediction, Tokenized } from "./api.js";

/** One block per mask: a row per candidate with a bar as wide as its probability. */
export function renderPredictions(container: HTMLElement, perMask: Prediction[][]): void {
  container.replaceChildren(
    ...perMask.map((predictions, m) => {
      const block = document.createElement("div");
      block.className = "mask-block";
      const title = document.createElement("strong");
      title.textContent = perMask.length > 1 ? `[MASK] ${m + 1} of ${perMask.length}` : "[MASK]";
      block.append(title);
      for (const p of predictions) {
        const row = document.createElement("div");
        row.className = "bar-row";
        row.title = p.sequence;
        const token = document.createElement("span");
        token.className = "candidate";
        token.textContent = p.token_str;
        const track = document.createElement("div");
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.style.width = `${(100 * p.score).toFixed(1)}%`;
        track.append(bar);
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = p.score.toFixed(4);
        row.append(token, track, score);
        block.append(row);
      }
      return block;
    }),
  );
}

/** A chip per token: the token, its id and its [start, end) offsets in `text`. */
export function renderTokens(container: HTMLElement, t: Tokenized): void {
  container.replaceChildren(
    ...t.tokens.map((token, i) => {
      const chip = document.createElement("div");
      chip.className = t.unk[i] ? "token unk" : "token";
      chip.textContent = token;
      const meta = document.createElement("small");
      meta.textContent = `${t.ids[i]} · ${t.offsets[i][0]}-${t.offsets[i][1]}`;
      chip.append(meta);
      return chip;
    }),
  );
}
