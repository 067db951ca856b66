#!/usr/bin/env python3
"""Writes www/sample/sotu-sample.jsonl, the demo's bundled sample corpus (deterministic).

Source: ../shared/data/sotu-passages/corpus.jsonl (U.S. State of the Union addresses 1790-2018,
public domain; see www/sample/README.md). Takes 100 addresses spread evenly over the years and,
from each, 3 consecutive passages from the middle, joined as paragraphs into one document: about
300 passages of text, so that the demo shows long documents split into passages and results
grouped by document.

Usage: python3 tools/make-sample.py [path/to/corpus.jsonl]
"""
import collections
import json
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "sotu-passages", "corpus.jsonl")
out = os.path.join(os.path.dirname(__file__), "..", "www", "sample", "sotu-sample.jsonl")
SPEECHES, PASSAGES = 100, 3

speeches = collections.OrderedDict()
with open(src, encoding="utf-8") as f:
    for line in f:
        row = json.loads(line)
        speeches.setdefault(row["_id"].rsplit("-", 1)[0], []).append(row)

keys = list(speeches)
picked = [keys[round(i * (len(keys) - 1) / (SPEECHES - 1))] for i in range(SPEECHES)]
os.makedirs(os.path.dirname(out), exist_ok=True)
total = 0
with open(out, "w", encoding="utf-8") as f:
    for key in picked:
        rows = speeches[key]
        mid = max(0, len(rows) // 2 - PASSAGES // 2)
        part = rows[mid:mid + PASSAGES]
        first = part[0]
        doc = {
            "_id": key,
            "title": f"{first['president']}, {first['year']}",
            "text": "\n\n".join(r["text"] for r in part),
            "year": first["year"],
            "president": first["president"],
            "party": first["party"],
        }
        total += len(part)
        f.write(json.dumps(doc, ensure_ascii=False) + "\n")
print(f"wrote {out}: {len(picked)} documents, {total} passages, {os.path.getsize(out)} bytes")
