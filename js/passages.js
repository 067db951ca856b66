// Splitting long documents into passages that fit the model: by paragraphs, packed greedily up to
// a token budget; a paragraph over the budget is cut at sentence ends, then at spaces.
// Offsets are UTF-16 indices into the original text, so `text.slice(start, end)` is the passage.

/** Runs of non-whitespace between blank lines: `[start, end)` pairs, trimmed. */
function paragraphs(text, from = 0, to = text.length) {
  const out = [];
  const re = /\n[ \t\f\v\r]*\n\s*/g;
  re.lastIndex = from;
  let start = from;
  for (;;) {
    const m = re.exec(text);
    const end = m && m.index < to ? m.index : to;
    pushTrimmed(out, text, start, end);
    if (!m || m.index >= to) {
      break;
    }
    start = m.index + m[0].length;
  }
  return out;
}

function pushTrimmed(out, text, start, end) {
  while (start < end && /\s/.test(text[start])) {
    start++;
  }
  while (end > start && /\s/.test(text[end - 1])) {
    end--;
  }
  if (end > start) {
    out.push([start, end]);
  }
}

/** Pieces of `[start, end)` cut after each match of `re` (which must be global). */
function cutAfter(text, start, end, re) {
  const out = [];
  const slice = text.slice(start, end);
  re.lastIndex = 0;
  let from = 0;
  let m;
  while ((m = re.exec(slice)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const cut = m.index + m[0].length;
    if (cut < slice.length) {
      pushTrimmed(out, text, start + from, start + cut);
      from = cut;
    }
  }
  pushTrimmed(out, text, start + from, end);
  return out;
}

const LINE_END = /\n/g;
const SENTENCE_END = /[.!?…。！？]+["'”’)\]]*\s+/g;

/**
 * Splits `text` into passages of at most `maxTokens` tokens as counted by `countTokens(string)`.
 * Returns `[{start, end}]` in order; an empty or blank text gives `[]`.
 * Without `countTokens`, tokens are estimated as characters / 4.
 */
export function splitPassages(text, { maxTokens = 256, countTokens = null } = {}) {
  if (!(maxTokens >= 8)) {
    throw new RangeError(`maxTokens must be at least 8 (got ${maxTokens})`);
  }
  const count = countTokens ?? ((s) => Math.ceil(s.length / 4));
  const units = [];

  // Pieces no longer than the budget, with their token counts.
  const addUnit = (start, end, depth) => {
    const tokens = count(text.slice(start, end));
    if (tokens <= maxTokens) {
      units.push({ start, end, tokens });
      return;
    }
    if (depth < 2) {
      const pieces = cutAfter(text, start, end, depth === 0 ? LINE_END : SENTENCE_END);
      if (pieces.length > 1) {
        for (const [s, e] of pieces) {
          addUnit(s, e, depth + 1);
        }
        return;
      }
      addUnit(start, end, depth + 1);
      return;
    }
    splitAtSpaces(start, end, tokens);
  };

  // A run of text with no usable sentence end: chunks of about the budget's length in characters.
  const splitAtSpaces = (start, end, tokens) => {
    let charsPerToken = (end - start) / Math.max(tokens, 1);
    let pos = start;
    while (pos < end) {
      let target = Math.floor(maxTokens * charsPerToken * 0.9);
      for (;;) {
        let cut = Math.min(end, pos + Math.max(target, 1));
        if (cut < end) {
          const space = text.lastIndexOf(" ", cut);
          if (space > pos + target / 2) {
            cut = space;
          }
        }
        const piece = text.slice(pos, cut);
        const n = count(piece);
        if (n <= maxTokens || cut - pos <= 1) {
          const before = units.length;
          pushTrimmed(units, text, pos, cut);
          if (units.length > before) {
            const [s, e] = units.pop();
            units.push({ start: s, end: e, tokens: n });
          }
          pos = cut;
          while (pos < end && /\s/.test(text[pos])) {
            pos++;
          }
          break;
        }
        charsPerToken = Math.max(0.25, (cut - pos) / n);
        target = Math.max(1, Math.floor(Math.min(target * 0.8, maxTokens * charsPerToken * 0.9)));
      }
    }
  };

  for (const [start, end] of paragraphs(text)) {
    addUnit(start, end, 0);
  }

  // Greedy packing of consecutive units; the sum of the parts' counts is checked on the joined text.
  const passages = [];
  let i = 0;
  while (i < units.length) {
    let j = i + 1;
    let sum = units[i].tokens;
    while (j < units.length && sum + units[j].tokens <= maxTokens) {
      sum += units[j].tokens;
      j++;
    }
    while (j > i + 1 && count(text.slice(units[i].start, units[j - 1].end)) > maxTokens) {
      j--;
    }
    passages.push({ start: units[i].start, end: units[j - 1].end });
    i = j;
  }
  return passages;
}

/**
 * Passage length when none is asked for: attention costs grow with the square of a passage's
 * length, so a GTE model's 8,192-token window would make one passage cost minutes in wasm, while
 * passages of 512 tokens (BERT's whole window) cost about as much per token as short ones.
 */
export const DEFAULT_PASSAGE_TOKENS = 512;

/**
 * A `countTokens` for `splitPassages` from an encoder, and the matching budget: `maxTokens`
 * (default min(model maximum, DEFAULT_PASSAGE_TOKENS); at most the model's maximum).
 */
export function tokenBudget(encoder, maxTokens = null) {
  const info = encoder.info();
  const modelMax = info.maxDocumentTokens;
  // documentTokenIds adds [CLS]/[SEP] and truncates at the model's maximum: keep one token spare so
  // that a passage that fits is never truncated.
  const budget = Math.max(8, Math.min(maxTokens ?? DEFAULT_PASSAGE_TOKENS, modelMax) - 3);
  return { maxTokens: budget, countTokens: (s) => Math.max(0, encoder.documentTokenIds(s).length - 2) };
}
