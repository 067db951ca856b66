// Highlighting and snippets: which words of a passage to mark for a query, and the window of a long
// passage to show. Words are compared by the model's tokens, so "Planet" marks "planet".

const WORD = /[\p{L}\p{N}]+/gu;
const WORD_CACHE_LIMIT = 50_000;

export class Highlighter {
  #encoder;
  #wordTokens = new Map();

  constructor(encoder) {
    this.#encoder = encoder;
  }

  /** A word's tokens (without [CLS]/[SEP]) as a string key, cached. */
  #tokensOf(word) {
    let key = this.#wordTokens.get(word);
    if (key === undefined) {
      if (this.#wordTokens.size > WORD_CACHE_LIMIT) {
        this.#wordTokens.clear();
      }
      key = Array.from(this.#encoder.documentTokenIds(word).subarray(1, -1)).join(",");
      this.#wordTokens.set(word, key);
    }
    return key;
  }

  /**
   * Ranges `[start, end]` of the words in `text` (between `from` and `to`) that match a word of the
   * query: the same tokens; for a query word that is one token ("planet"), a word that starts with it;
   * or the query word plus up to three letters ("planets"). Query words whose tokens all weigh less
   * than `minWeight` times the query's largest weight (stop words, mostly) are not marked.
   */
  highlights(text, query, { from = 0, to = text.length, minWeight = 0.15 } = {}) {
    const q = this.#encoder.encodeQuery(query);
    const weights = new Map(Array.from(q.indices, (id, i) => [id, q.values[i]]));
    const top = q.values.reduce((m, v) => Math.max(m, v), 0);
    const words = new Set();
    const stems = new Set();
    const prefixes = [];
    for (const [word] of query.matchAll(WORD)) {
      const key = this.#tokensOf(word);
      const ids = key === "" ? [] : key.split(",").map(Number);
      if (ids.length > 0 && ids.some((id) => (weights.get(id) ?? 0) >= minWeight * top)) {
        words.add(key);
        if (ids.length === 1) {
          stems.add(String(ids[0]));
        }
        if (word.length >= 4) {
          prefixes.push(word.toLowerCase());
        }
      }
    }
    if (words.size === 0) {
      return [];
    }
    // "planet" also marks "planets", "planetary" does not: a query word plus at most 3 letters.
    const inflected = (w) => {
      const lower = w.toLowerCase();
      return prefixes.some((p) => lower.length - p.length <= 3 && lower.startsWith(p));
    };
    const out = [];
    const part = text.slice(from, to);
    for (const m of part.matchAll(WORD)) {
      const key = this.#tokensOf(m[0]);
      if (words.has(key) || stems.has(key.split(",", 1)[0]) || inflected(m[0])) {
        out.push([from + m.index, from + m.index + m[0].length]);
      }
    }
    return out;
  }

  /**
   * A window of about `maxChars` of `text`'s passage around the words that contributed most to its
   * score. `contributions` maps token ids the passage contains to their share of the score; a word is
   * marked when one of its tokens brought at least `minShare` of the largest contribution, and the
   * window holds the largest sum of marked words' contributions (always the top word's).
   * Same shape as `snippet`, plus `weights` (each highlight's contribution).
   */
  contributionSnippet(text, passage, contributions, { maxChars = 360, minShare = 0.1 } = {}) {
    const top = Math.max(0, ...contributions.values());
    const marks = [];
    if (top > 0) {
      const part = text.slice(passage.start, passage.end);
      for (const m of part.matchAll(WORD)) {
        const key = this.#tokensOf(m[0]);
        const weight = key === "" ? 0 : Math.max(0, ...key.split(",").map((id) => contributions.get(Number(id)) ?? 0));
        if (weight >= minShare * top) {
          const s = passage.start + m.index;
          marks.push([s, s + m[0].length, weight]);
        }
      }
    }
    const { start, end } = heaviestWindow(text, passage, marks, maxChars);
    const inside = marks.filter(([s, e]) => s >= start && e <= end);
    return {
      text: text.slice(start, end),
      start,
      end,
      highlights: inside.map(([s, e]) => [s - start, e - start]),
      weights: inside.map(([, , w]) => w),
      clippedStart: start > passage.start,
      clippedEnd: end < passage.end,
    };
  }

  /**
   * A window of about `maxChars` of `text`'s passage `{start, end}` around its densest highlights:
   * `{text, start, end, highlights: [[start, end]] (relative to text), clippedStart, clippedEnd}`.
   */
  snippet(text, passage, query, { maxChars = 360 } = {}) {
    const all = this.highlights(text, query, { from: passage.start, to: passage.end });
    const { start, end } = densestWindow(text, passage, all, maxChars);
    return {
      text: text.slice(start, end),
      start,
      end,
      highlights: all.filter(([s, e]) => s >= start && e <= end).map(([s, e]) => [s - start, e - start]),
      clippedStart: start > passage.start,
      clippedEnd: end < passage.end,
    };
  }
}

/** The `{start, end}` of at most `maxChars` within the passage that covers the most highlights, snapped to spaces. */
function densestWindow(text, passage, highlights, maxChars) {
  return heaviestWindow(text, passage, highlights.map(([s, e]) => [s, e, 1]), maxChars);
}

/**
 * The `{start, end}` of at most `maxChars` within the passage whose marks `[start, end, weight]` weigh
 * the most together, among windows that hold the heaviest single mark; snapped to spaces.
 */
function heaviestWindow(text, passage, marks, maxChars) {
  let start = passage.start;
  let end = passage.end;
  if (end - start <= maxChars) {
    return { start, end };
  }
  const heaviest = marks.reduce((m, [, , w]) => Math.max(m, w), 0);
  let best = passage.start;
  let bestWeight = -1;
  for (let i = 0, j = 0, sum = 0; i < marks.length; i++) {
    if (j < i) {
      j = i;
      sum = 0;
    }
    while (j < marks.length && marks[j][1] <= marks[i][0] + maxChars) {
      sum += marks[j][2];
      j++;
    }
    const holdsTop = marks.slice(i, j).some(([, , w]) => w === heaviest);
    const weight = sum + (holdsTop ? heaviest * marks.length : 0);
    if (weight > bestWeight) {
      bestWeight = weight;
      best = marks[i][0];
    }
    sum -= marks[i][2];
  }
  start = Math.max(passage.start, best - Math.floor(maxChars / 4));
  end = Math.min(passage.end, start + maxChars);
  start = Math.max(passage.start, end - maxChars);
  // Snap to word boundaries.
  if (start > passage.start) {
    const space = text.indexOf(" ", start);
    if (space !== -1 && space < start + 30) {
      start = space + 1;
    }
  }
  if (end < passage.end) {
    const space = text.lastIndexOf(" ", end);
    if (space > end - 30) {
      end = space;
    }
  }
  return { start, end };
}
