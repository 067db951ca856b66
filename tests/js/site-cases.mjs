// Unicode edge cases for the static-site tokenizer: hand-picked strings and deterministic random
// mixtures of the characters that trip BERT tokenizers (controls, zero-width and format characters,
// combining marks, CJK, Hangul, emoji sequences, RTL text, odd whitespace, long words, added tokens).

const HAND_PICKED = [
  "",
  " ",
  "\t\n\r\u000b\u000c",
  "hello\u0000world",
  "a\u0001b\u001fc\u007fd\u0080e\u009ff",
  "zero\u200bwidth\u200cjoin\u200dner\u2060word\ufeffbom",
  "no\u00a0break\u2007figure\u202fnarrow\u3000ideographic\u1680ogham\u0085nel",
  "em\u2003space\u2028line\u2029para",
  "café naïve résumé Ångström Zoë façade",
  "e\u0301 a\u0300\u0316 o\u0308\u0304 n\u0303",
  "\u0301\u0302 leading marks",
  "İstanbul ıi ẞtraße ß Σίσυφος ΣΑΣ ǅemal ﬁnance Ⅻ ㎏ ①",
  "中文分词测试 漢字 かな カナ 한국어 조선말",
  "\u3400\u4dbf\u{20000}\u{2a6df}\u{2a700}\u{2b820}\u{2ceaf}\u{2ceb0}\uf900\ufa6e\ufaff\u{2f800}\u{2fa1f}",
  "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ☺︎ 1️⃣ 🏳️‍🌈",
  "עברית שָׁלוֹם العربية مَرْحَبًا \u200f\u202eRTL\u202c \u200e",
  "हिन्दी देवनागरी ไทย ภาษา ລາວ ᏣᎳᎩ ትግርኛ",
  "a\ud800b \udc00c \ud83d",
  "[CLS] [SEP] [MASK] [UNK] [PAD]",
  "x[MASK]y [mask] [[SEP]] [CLS[SEP]] [UNK][UNK]",
  "https://peps.python.org/pep-0008/#naming-conventions?x=1&y=2",
  "def f(*args, **kwargs) -> None: return {k: v for k, v in x.items()}",
  "C++ C# F# .NET node.js e-mail don't l'homme 3.14159 1,000,000 -42 +7 50% $100 €5 £3 ¥9",
  "«quotes» „German“ ‘single’ “double” — dash – en … ellipsis · middot • bullet ‽ ¡¿",
  "\u2e43\u2e52\u2e5d\u061d\u1b7d\u{10f86}\u{113d4}\u{1145a} newer punctuation",
  "\u1734\u{1171e} marks whose category changed",
  "\u{105c9}\u{105e4}\u{11383}\u{16121}\u{16d68} newer decompositions",
  "\u{e000}\u{f8ff}\u{f0000}\u{10fffd} private use \u{e0001}\u{e0041} tags",
  "\u0378\u0379\u{50000}\u{10ffff}\ufffe\uffff unassigned",
  "\ufffd replacement \u00ad soft\u00adhyphen \u034f cgj \u180e mongolian",
  "a".repeat(100),
  "a".repeat(101),
  "é".repeat(100),
  "e\u0301".repeat(100),
  "supercalifragilisticexpialidocious".repeat(4),
  "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
  Array.from({ length: 700 }, (_, i) => `w${i}`).join(" "),
  "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
];

const POOL = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  " ", " ", " ", "\t", "\n", "\r", "\u00a0", "\u2002", "\u3000", "\u0085", "\u000b",
  "\u0000", "\u0007", "\u001b", "\u007f", "\u0090", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
  "\u202e", "\u2060", "\ufeff", "\u00ad", "\ufffd", "\ue000",
  "\u0300", "\u0301", "\u0308", "\u0327", "\u0316", "\u036f", "\u0483", "\u0591", "\u05bc", "\u064b",
  "\u093c", "\u094d", "\u0e31", "\u1ab0", "\u20d0", "\ufe0f", "\ufe20", "\u0903", "\u0488",
  "é", "ñ", "ü", "Å", "ø", "ł", "ß", "İ", "ı", "Σ", "ς", "ǅ", "ﬁ", "Ⅻ", "①", "㎏", "Ω", "K",
  "中", "文", "漢", "\u3400", "\u{20000}", "\uf900", "\ufa6e", "あ", "ア", "ｱ", "한", "글", "\u1100",
  "😀", "👍", "🏽", "🇫", "🇷", "❤", "\u{1f3fb}", "\u{e0067}",
  "א", "ש", "ا", "ل", "ह", "ि", "ไ", "่", "«", "»", "—", "…", "‽", "¿", "€", "£", "°", "±", "×",
  "\u2e43", "\u1734", "\u{105c9}", "\ud800", "\udfff",
  "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[", "]", "##", "the", "ing", "tion", "un",
];

// Mulberry32: a fixed sequence for every run.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hand-picked strings plus `count` random mixtures (length 1..40 pool items), the same every run. */
export function edgeCases(count = 3000, seed = 12) {
  const next = random(seed);
  const out = [...HAND_PICKED];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(next() * 40);
    let text = "";
    for (let j = 0; j < length; j++) {
      text += POOL[Math.floor(next() * POOL.length)];
    }
    out.push(text);
  }
  return out;
}

/**
 * Every code point (surrogates included: JS strings may hold them) between two letters, packed
 * `perText` to a string with spaces between, so each shows its effect on a word: removed, a space,
 * punctuation split, a Chinese character, a stripped mark, a different letter, or [UNK].
 */
export function codePointSweep(perText = 120) {
  const out = [];
  let text = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    text.push(`q${String.fromCodePoint(cp)}z`);
    if (text.length === perText) {
      out.push(text.join(" "));
      text = [];
    }
  }
  if (text.length > 0) {
    out.push(text.join(" "));
  }
  return out;
}
