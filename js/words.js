// Queries at the level of words, as people read them. A query is searched by the words the model's
// vocabulary can spell: a word with an unknown piece ([UNK]: emoji, most CJK text for an English
// model) is left out rather than searched by fragments, and punctuation carries no meaning, so
// "🚀", "東京の天気" or "!!!" have no searchable words instead of matching every passage with an [UNK]
// or a "!". Explanations merge word pieces ("hi", "##jack") back into the word they came from.

const WORD = /[\p{L}\p{N}]+/gu;
const SPECIAL = /^\[(UNK|CLS|SEP|PAD|MASK)\]$/;
const HAS_LETTER = /[\p{L}\p{N}]/u;
const CACHE_LIMIT = 2_000;

export class QueryWords {
  #encoder;
  #cache = new Map();

  constructor(encoder) {
    this.#encoder = encoder;
  }

  /**
   * `{searchable, words: [{text, known, tokenIds}], indices, values}`: the query's words (known: every
   * piece is in the vocabulary) and the query vector restricted to the tokens of its known words.
   */
  analyze(query) {
    let out = this.#cache.get(query);
    if (out) {
      return out;
    }
    const words = [];
    const keep = new Set();
    for (const [text] of query.matchAll(WORD)) {
      const ids = Array.from(this.#encoder.documentTokenIds(text).subarray(1, -1));
      const pieces = ids.length ? this.#encoder.tokenStrings(Uint32Array.from(ids)) : [];
      const known = ids.length > 0 && pieces.every((p) => !SPECIAL.test(p)) && pieces.some((p) => HAS_LETTER.test(p));
      words.push({ text, known, tokenIds: ids });
      if (known) {
        ids.forEach((id, i) => HAS_LETTER.test(pieces[i]) && keep.add(id));
      }
    }
    const q = this.#encoder.encodeQuery(query);
    const indices = [];
    const values = [];
    q.indices.forEach((id, i) => {
      if (keep.has(id) && q.values[i] > 0) {
        indices.push(id);
        values.push(q.values[i]);
      }
    });
    out = { searchable: indices.length > 0, words, indices: Uint32Array.from(indices), values: Float32Array.from(values) };
    if (this.#cache.size >= CACHE_LIMIT) {
      this.#cache.clear();
    }
    this.#cache.set(query, out);
    return out;
  }
}

/**
 * Token contributions `[{tokenId, token, queryWeight, documentWeight, contribution, expansion}]` grouped
 * by the query word they came from: `[{word, contribution, related, pieces}]`, largest first. `related`:
 * the passage does not contain the word; the model judged it a related term.
 */
export function wordsOfTerms(analysis, terms) {
  const byToken = new Map(terms.map((t) => [t.tokenId, t]));
  const used = new Set();
  const out = [];
  for (const w of analysis.words) {
    const pieces = w.tokenIds.map((id) => byToken.get(id)).filter((t) => t && !used.has(t.tokenId));
    if (pieces.length === 0) {
      continue;
    }
    pieces.forEach((t) => used.add(t.tokenId));
    out.push({
      word: w.text.toLowerCase(),
      contribution: pieces.reduce((s, t) => s + t.contribution, 0),
      related: pieces.every((t) => t.expansion),
      pieces,
    });
  }
  for (const t of terms) {
    if (!used.has(t.tokenId)) {
      out.push({ word: t.token.replace(/^##/, ""), contribution: t.contribution, related: t.expansion, pieces: [t] });
    }
  }
  return out.sort((a, b) => b.contribution - a.contribution);
}

/**
 * A hash of the model's vocabulary (its token strings in id order): two models with the same one put
 * the same token ids in their vectors, so an index of one can be searched with the other's queries
 * while it is re-encoded (a q8_0 and an f32 pack of one model, say).
 */
export async function vocabularyFingerprint(encoder) {
  const n = encoder.info().vocabSize;
  const tokens = encoder.tokenStrings(Uint32Array.from({ length: n }, (_, i) => i));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tokens.join("\n")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
