// The try-a-model panel's results: the top-k candidates of each [MASK] as bars, and a sentence's
// tokens with their ids and character offsets, the unknown token highlighted.
import type { Evaluation, LabelScore, Prediction, Tokenized } from "./api.js";

/** One block per mask: a row per candidate with a bar as wide as its probability. */
export function renderPredictions(container: HTMLElement, perMask: Prediction[][]): void {
  container.replaceChildren(
    ...perMask.map((predictions, m) => {
      const block = document.createElement("div");
      block.className = "mask-block";
      const title = document.createElement("strong");
      title.textContent = perMask.length > 1 ? `[MASK] ${m + 1} of ${perMask.length}` : "[MASK]";
      block.append(title);
      for (const p of predictions) block.append(barRow(p.token_str, p.score, p.sequence));
      return block;
    }),
  );
}

/** A row of the bars: the candidate, a bar as wide as its probability, the probability; `title` on hover. */
function barRow(candidate: string, score: number, title?: string): HTMLElement {
  const row = document.createElement("div");
  row.className = "bar-row";
  if (title !== undefined) row.title = title;
  const name = document.createElement("span");
  name.className = "candidate";
  name.textContent = candidate;
  const track = document.createElement("div");
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.style.width = `${(100 * score).toFixed(1)}%`;
  track.append(bar);
  const value = document.createElement("span");
  value.className = "score";
  value.textContent = score.toFixed(4);
  row.append(name, track, value);
  return row;
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

/** A classifier's labels as bars, best first (the same rows as the fill-mask box). */
export function renderLabels(container: HTMLElement, labels: LabelScore[]): void {
  container.replaceChildren(...labels.map((l) => barRow(l.label, l.score)));
}

/** For each sentence, the others from nearest to farthest by cosine similarity. */
export function renderNeighbours(container: HTMLElement, sentences: string[], similarities: number[][]): void {
  container.replaceChildren(
    ...sentences.map((s, i) => {
      const block = document.createElement("div");
      block.className = "neighbours";
      const title = document.createElement("strong");
      title.textContent = s;
      const list = document.createElement("ol");
      const order = sentences.map((_, j) => j).filter((j) => j !== i);
      order.sort((a, b) => similarities[i][b] - similarities[i][a]);
      for (const j of order) {
        const li = document.createElement("li");
        li.dataset.similarity = similarities[i][j].toFixed(4);
        li.textContent = `${sentences[j]} (${similarities[i][j].toFixed(3)})`;
        list.append(li);
      }
      block.append(title, list);
      return block;
    }),
  );
}

/** The confusion matrix of one evaluation: rows true labels, columns predicted, the diagonal shaded. */
export function renderConfusion(container: HTMLElement, e: Evaluation): void {
  const table = document.createElement("table");
  table.className = "confusion";
  const head = document.createElement("tr");
  const corner = document.createElement("th");
  corner.textContent = "true \\ predicted";
  head.append(corner, ...e.labels.map((l) => Object.assign(document.createElement("th"), { textContent: l })));
  const max = Math.max(1, ...e.matrix.flat());
  const rows = e.labels.map((label, t) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    tr.append(th);
    e.matrix[t].forEach((n, p) => {
      const td = document.createElement("td");
      td.textContent = String(n);
      td.dataset.true = label;
      td.dataset.predicted = e.labels[p];
      const share = n / max;
      td.style.background = t === p ? `rgba(46, 125, 50, ${share * 0.6})` : `rgba(198, 40, 40, ${share * 0.6})`;
      tr.append(td);
    });
    return tr;
  });
  const caption = document.createElement("caption");
  const pct = (v: number | null): string => (v === null ? "-" : `${(100 * v).toFixed(1)}%`);
  caption.textContent = `step ${e.step}: accuracy ${pct(e.accuracy)}, macro-F1 ${e.macroF1?.toFixed(4) ?? "-"}`;
  table.append(caption, head, ...rows);
  container.replaceChildren(table);
}
