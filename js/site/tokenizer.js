// The query side of a BERT WordPiece tokenizer in plain JS, token-for-token the tokenizers crate's
// pipeline (added tokens split from the raw text, BertNormalizer, BertPreTokenizer, WordPiece), so a
// static site needs neither the crate's wasm (608 KB gzipped) nor tokenizer.json (207 KB gzipped).
// Character classes come from tables read off the crate (unicode-tables.js): the browser's own
// Unicode version would disagree with the crate's older tables on some characters.
import { TABLES } from "./unicode-tables.js";

function decodeRanges(text) {
  const numbers = text.split(",").map((n) => parseInt(n, 16));
  const ranges = new Uint32Array(numbers.length);
  let prev = -1;
  for (let i = 0; i < numbers.length; i += 2) {
    const start = prev + 1 + numbers[i];
    prev = start + numbers[i + 1];
    ranges[i] = start;
    ranges[i + 1] = prev;
  }
  return ranges;
}

function inRanges(ranges, cp) {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) {
      hi = mid - 1;
    } else if (cp > ranges[2 * mid + 1]) {
      lo = mid + 1;
    } else {
      return true;
    }
  }
  return false;
}

const REMOVED = decodeRanges(TABLES.removed);
const SPACE = decodeRanges(TABLES.space);
const MARK = decodeRanges(TABLES.mark);
const SPLIT = decodeRanges(TABLES.split);
const PUNCT = decodeRanges(TABLES.punct);
const NFD_KEPT = decodeRanges(TABLES.nfdKept);

// The crate's "Chinese character" blocks (BertNormalizer::is_chinese_char).
const CHINESE = new Uint32Array([
  0x3400, 0x4dbf, 0x4e00, 0x9fff, 0xf900, 0xfaff, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f,
  0x2b920, 0x2ceaf, 0x2f800, 0x2fa1f,
]);

// Pre-tokenizer classes of the ASCII characters, looked up without a search.
const WORD = 0;
const SPLIT_CLASS = 1;
const PUNCT_CLASS = 2;
const ASCII_CLASS = Uint8Array.from({ length: 128 }, (_, cp) =>
  inRanges(SPLIT, cp) ? SPLIT_CLASS : inRanges(PUNCT, cp) ? PUNCT_CLASS : WORD,
);

function charClass(cp) {
  if (cp < 128) {
    return ASCII_CLASS[cp];
  }
  return inRanges(SPLIT, cp) ? SPLIT_CLASS : inRanges(PUNCT, cp) ? PUNCT_CLASS : WORD;
}

function decompose(text) {
  let out = "";
  let run = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (cp >= NFD_KEPT[0] && inRanges(NFD_KEPT, cp)) {
      out += run.normalize("NFD") + ch;
      run = "";
    } else {
      run += ch;
    }
  }
  return out + run.normalize("NFD");
}

/**
 * `options`: {vocab: string[] (id order), unkId, continuingSubwordPrefix, maxInputCharsPerWord,
 * normalizer: {clean_text, handle_chinese_chars, strip_accents, lowercase}, addedTokens, maxTokens}.
 */
export class WordPieceTokenizer {
  #ids = new Map();
  #vocab;
  #unkId;
  #prefix;
  #maxChars;
  #normalizer;
  #added;
  #maxTokens;

  constructor({ vocab, unkId, continuingSubwordPrefix, maxInputCharsPerWord, normalizer, addedTokens, maxTokens }) {
    this.#vocab = vocab;
    vocab.forEach((token, id) => {
      this.#ids.set(token, id);
    });
    if (!Number.isInteger(unkId) || unkId < 0 || unkId >= vocab.length) {
      throw new Error(`tokenizer: unknown-token id ${unkId} is outside the vocabulary (${vocab.length} tokens)`);
    }
    this.#unkId = unkId;
    this.#prefix = continuingSubwordPrefix;
    this.#maxChars = maxInputCharsPerWord;
    this.#normalizer = {
      clean: Boolean(normalizer.clean_text),
      chinese: Boolean(normalizer.handle_chinese_chars),
      strip: Boolean(normalizer.strip_accents),
      lower: Boolean(normalizer.lowercase),
    };
    for (const token of addedTokens) {
      if (token.single_word || token.lstrip || token.rstrip || token.normalized) {
        throw new Error(
          `tokenizer: added token ${JSON.stringify(token.content)} uses single_word/lstrip/rstrip/normalized, which this tokenizer does not implement`,
        );
      }
    }
    this.#added = addedTokens.filter((t) => t.content.length > 0).map((t) => ({ content: t.content, id: t.id }));
    this.#maxTokens = maxTokens;
  }

  get vocabSize() {
    return this.#vocab.length;
  }

  token(id) {
    return this.#vocab[id];
  }

  /** Query token ids: no special tokens added, truncated to `maxTokens` (all when `limit` is false). */
  encode(text, { limit = true } = {}) {
    const ids = [];
    const max = limit ? this.#maxTokens : Infinity;
    for (const piece of this.#splitAdded(String(text))) {
      if (ids.length >= max) {
        break;
      }
      if (typeof piece === "number") {
        ids.push(piece);
        continue;
      }
      for (const word of this.#preTokenize(this.normalize(piece))) {
        this.#wordPiece(word, ids);
        if (ids.length >= max) {
          break;
        }
      }
    }
    return ids.length > max ? ids.slice(0, max) : ids;
  }

  /** BertNormalizer: clean text, space out Chinese characters, strip accents, lowercase. */
  normalize(text) {
    const { clean, chinese, strip, lower } = this.#normalizer;
    let out = "";
    for (let ch of text) {
      let cp = ch.codePointAt(0);
      if (cp >= 0xd800 && cp <= 0xdfff) {
        // A lone surrogate: the UTF-8 the crate sees has U+FFFD there.
        ch = "\ufffd";
        cp = 0xfffd;
      }
      if (clean) {
        if (cp === 0 || cp === 0xfffd || inRanges(REMOVED, cp)) {
          continue;
        }
        if (inRanges(SPACE, cp)) {
          out += " ";
          continue;
        }
      }
      out += chinese && cp >= 0x3400 && inRanges(CHINESE, cp) ? ` ${ch} ` : ch;
    }
    if (strip) {
      let kept = "";
      for (const ch of decompose(out)) {
        if (!inRanges(MARK, ch.codePointAt(0))) {
          kept += ch;
        }
      }
      out = kept;
    }
    if (lower) {
      let lowered = "";
      // Per character, as the crate does: no final-sigma context.
      for (const ch of out) {
        lowered += ch.toLowerCase();
      }
      out = lowered;
    }
    return out;
  }

  // Added tokens match the raw text, leftmost first and longest at a position.
  *#splitAdded(text) {
    if (this.#added.length === 0) {
      yield text;
      return;
    }
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      let best = null;
      for (const token of this.#added) {
        if (text.startsWith(token.content, i) && (!best || token.content.length > best.content.length)) {
          best = token;
        }
      }
      if (best) {
        if (i > from) {
          yield text.slice(from, i);
        }
        yield best.id;
        from = i + best.content.length;
        i = from - 1;
      }
    }
    if (from < text.length) {
      yield text.slice(from);
    }
  }

  // BertPreTokenizer: split on whitespace (dropped) and punctuation (kept, one character a word).
  *#preTokenize(text) {
    let word = "";
    for (const ch of text) {
      const kind = charClass(ch.codePointAt(0));
      if (kind === WORD) {
        word += ch;
        continue;
      }
      if (word) {
        yield word;
        word = "";
      }
      if (kind === PUNCT_CLASS) {
        yield ch;
      }
    }
    if (word) {
      yield word;
    }
  }

  // Greedy longest match from the left; a word with any unmatched part is one [UNK].
  #wordPiece(word, ids) {
    const chars = Array.from(word);
    if (chars.length > this.#maxChars) {
      ids.push(this.#unkId);
      return;
    }
    const offsets = [0];
    for (const ch of chars) {
      offsets.push(offsets[offsets.length - 1] + ch.length);
    }
    const found = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let id;
      while (start < end) {
        const piece = word.slice(offsets[start], offsets[end]);
        id = this.#ids.get(start > 0 ? this.#prefix + piece : piece);
        if (id !== undefined) {
          break;
        }
        end--;
      }
      if (id === undefined) {
        ids.push(this.#unkId);
        return;
      }
      found.push(id);
      start = end;
    }
    ids.push(...found);
  }
}
