"""Prints (JSON) the character classes the `tokenizers` crate's BERT pipeline uses,
read off the crate itself (Python `tokenizers`, the same version as Cargo.lock) for every code point.

Why tables instead of the browser's Unicode property escapes: the crate's categories come from old
Unicode tables (`unicode_categories`), and browsers ship different Unicode versions, so `\\p{Mn}` or
`\\p{P}` would give different tokens for some characters in different browsers. With these tables the JS
tokenizer matches the crate everywhere; tests/js/site-tokenizer.mjs checks every code point against the
wasm encoder.

tools/site-unicode-tables.mjs turns them into js/site/unicode-tables.js:
  python3 -m venv /tmp/tokref && /tmp/tokref/bin/pip install tokenizers==<the Cargo.lock version>
  /tmp/tokref/bin/python tools/site-unicode-tables.py | node tools/site-unicode-tables.mjs
"""

import json
import sys

import tokenizers
from tokenizers import normalizers, pre_tokenizers

clean = normalizers.BertNormalizer(
    clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
)
strip = normalizers.BertNormalizer(
    clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False
)
nfd = normalizers.NFD()
pre = pre_tokenizers.BertPreTokenizer()

classes = {"removed": [], "space": [], "mark": [], "split": [], "punct": []}
decomposed_by_crate = []
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    cleaned = clean.normalize_str(c)
    if cleaned == "":
        classes["removed"].append(cp)
    elif cleaned == " ":
        classes["space"].append(cp)
    decomposed = nfd.normalize_str(c)
    if decomposed == c and strip.normalize_str(c) == "":
        classes["mark"].append(cp)
    if decomposed != c:
        decomposed_by_crate.append(cp)
    pieces = [s for s, _ in pre.pre_tokenize_str("a" + c + "b")]
    if pieces == ["a", "b"]:
        classes["split"].append(cp)
    elif pieces == ["a", c, "b"]:
        classes["punct"].append(cp)


json.dump({"version": tokenizers.__version__, "classes": classes, "decomposed": decomposed_by_crate}, sys.stdout)
