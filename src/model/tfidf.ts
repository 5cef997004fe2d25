/**
 * TF-IDF features as scikit-learn's `TfidfVectorizer` makes them with its defaults: lowercase, tokens
 * of two or more word characters (`(?u)\b\w\w+\b`), the `maxFeatures` terms most frequent over the
 * fitted texts (ties by term order), idf = ln((1 + n) / (1 + df)) + 1, each row scaled to unit L2
 * norm. Rows are sparse (CSR: column ids and values per row).
 */

/** Sparse rows: row r's entries are cols/vals[rowStart[r] .. rowStart[r+1]). */
export interface SparseRows {
  rowStart: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
  rows: number;
  /** Number of columns (features). */
  width: number;
}

const TOKEN = /[\p{L}\p{N}_][\p{L}\p{N}\p{M}_]+/gu;

/** The text's terms as the vectorizer counts them. */
export function terms(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/**
 * @example
 *   const v = TfidfVectorizer.fit(trainTexts, 10000);
 *   const X = v.transform(validTexts);   // rows with unit L2 norm
 */
export class TfidfVectorizer {
  private constructor(
    /** term -> column */
    readonly vocabulary: Map<string, number>,
    /** [width] idf of each column */
    readonly idf: Float64Array,
  ) {}

  static fit(texts: readonly string[], maxFeatures: number): TfidfVectorizer {
    const total = new Map<string, number>();
    const docs = new Map<string, number>();
    for (const text of texts) {
      const seen = new Set<string>();
      for (const t of terms(text)) {
        total.set(t, (total.get(t) ?? 0) + 1);
        if (!seen.has(t)) {
          seen.add(t);
          docs.set(t, (docs.get(t) ?? 0) + 1);
        }
      }
    }
    // scikit-learn keeps the max_features most frequent terms, then orders columns alphabetically
    const kept = [...total.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, maxFeatures)
      .map(([t]) => t)
      .sort();
    const vocabulary = new Map(kept.map((t, i) => [t, i]));
    const n = texts.length;
    const idf = Float64Array.from(kept, (t) => Math.log((1 + n) / (1 + docs.get(t)!)) + 1);
    return new TfidfVectorizer(vocabulary, idf);
  }

  get width(): number {
    return this.idf.length;
  }

  transform(texts: readonly string[]): SparseRows {
    const rowStart = new Int32Array(texts.length + 1);
    const cols: number[] = [];
    const vals: number[] = [];
    texts.forEach((text, r) => {
      const counts = new Map<number, number>();
      for (const t of terms(text)) {
        const c = this.vocabulary.get(t);
        if (c !== undefined) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      const entries = [...counts.entries()].sort((a, b) => a[0] - b[0]);
      let norm = 0;
      for (const [c, k] of entries) norm += (k * this.idf[c]) ** 2;
      norm = Math.sqrt(norm);
      for (const [c, k] of entries) {
        cols.push(c);
        vals.push((k * this.idf[c]) / norm);
      }
      rowStart[r + 1] = cols.length;
    });
    return {
      rowStart,
      cols: Int32Array.from(cols),
      vals: Float64Array.from(vals),
      rows: texts.length,
      width: this.width,
    };
  }
}
