// Query words in a passage: the ranges to mark and an excerpt around the densest of them. A query
// word counts for a hit when one of its tokens matched that passage with a real share of the score;
// a passage word is marked when it has the same tokens as such a query word, starts with the same
// single-token word, or is that word plus up to three letters ("planet" marks "planets").
const WORD_PATTERN = /[\p{L}\p{N}]+/gu;
// Matched tokens below this share of the hit's largest contribution (stop words, mostly) mark nothing.
const MIN_SHARE = 0.1;

/** `(text, terms) => [[start, end]]` for one query; `terms`: a hit's `[{id, contribution}]`. */
export function highlighter(tokenizer, query) {
  const keyOf = (word) => tokenizer.encode(word, { limit: false }).join(",");
  const queryWords = [];
  for (const [word] of String(query).matchAll(WORD_PATTERN)) {
    const ids = tokenizer.encode(word, { limit: false });
    if (ids.length > 0) {
      queryWords.push({ ids, key: ids.join(","), prefix: word.length >= 4 ? word.toLowerCase() : null });
    }
  }
  const keys = new Map();
  return (text, terms) => {
    const top = terms.reduce((m, t) => Math.max(m, t.contribution), 0);
    const matched = new Set(terms.filter((t) => t.contribution >= MIN_SHARE * top).map((t) => t.id));
    const active = queryWords.filter((w) => w.ids.some((id) => matched.has(id)));
    if (active.length === 0) {
      return [];
    }
    const words = new Set(active.map((w) => w.key));
    const stems = new Set(active.filter((w) => w.ids.length === 1).map((w) => String(w.ids[0])));
    const prefixes = active.map((w) => w.prefix).filter(Boolean);
    const out = [];
    for (const m of text.matchAll(WORD_PATTERN)) {
      let key = keys.get(m[0]);
      if (key === undefined) {
        key = keyOf(m[0]);
        keys.set(m[0], key);
      }
      const lower = m[0].toLowerCase();
      if (
        words.has(key) ||
        stems.has(key.split(",", 1)[0]) ||
        prefixes.some((p) => lower.length - p.length <= 3 && lower.startsWith(p))
      ) {
        out.push([m.index, m.index + m[0].length]);
      }
    }
    return out;
  };
}

/**
 * About `maxChars` of `text` around its densest highlights, cut at spaces:
 * `{text, highlights: [[start, end]] (relative), clippedStart, clippedEnd}`.
 */
export function excerpt(text, ranges, maxChars = 280) {
  let start = 0;
  let end = text.length;
  if (end > maxChars) {
    // The window starting at a highlight that covers the most highlights.
    let best = 0;
    let bestCount = -1;
    for (let i = 0, j = 0; i < ranges.length; i++) {
      while (j < ranges.length && ranges[j][1] <= ranges[i][0] + maxChars) {
        j++;
      }
      if (j - i > bestCount) {
        bestCount = j - i;
        best = ranges[i][0];
      }
    }
    start = Math.max(0, best - Math.floor(maxChars / 4));
    end = Math.min(text.length, start + maxChars);
    start = Math.max(0, end - maxChars);
    if (start > 0) {
      const space = text.indexOf(" ", start);
      if (space !== -1 && space < start + 30) {
        start = space + 1;
      }
    }
    if (end < text.length) {
      const space = text.lastIndexOf(" ", end);
      if (space > end - 30) {
        end = space;
      }
    }
  }
  return {
    text: text.slice(start, end),
    highlights: ranges.filter(([s, e]) => s >= start && e <= end).map(([s, e]) => [s - start, e - start]),
    clippedStart: start > 0,
    clippedEnd: end < text.length,
  };
}
