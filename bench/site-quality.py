#!/usr/bin/env python3
"""Quality of the static search bundle on SciFact (300 test queries) against exact f32 retrieval.

Encodes the corpus once (`splade encode`, the same title + " " + text as `splade eval`), ranks
exactly in f32 (here, in Python), builds bundles with `splade site build`, and searches them with
`splade site search --queries` (the native reader of the browser's path). Prints a table:
nDCG@10 (trec_eval definitions) and mean top-10 overlap with the exact f32 ranking.

  python3 bench/site-quality.py [--splade target/release/splade] [--model models/splade-tiny]
                                [--data ../shared/data/scifact] [--work .cache/site-quality]
"""
import argparse
import json
import math
import os
import subprocess
import sys
from collections import defaultdict


def run(cmd, stdout=None):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=stdout)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def ndcg10(ranking, judged):
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:10]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def by_document(hits):
    """Best passage per document, in rank order."""
    seen, out = set(), []
    for h in hits:
        if h["id"] not in seen:
            seen.add(h["id"])
            out.append(h["id"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splade", default="target/release/splade")
    ap.add_argument("--model", default="models/splade-tiny")
    ap.add_argument("--data", default="../shared/data/scifact")
    ap.add_argument("--work", default=".cache/site-quality")
    ap.add_argument("--no-eval", action="store_true", help="skip `splade eval` (it re-encodes the corpus)")
    ap.add_argument("--no-passages", action="store_true", help="skip the bundle whose passages the builder splits and encodes")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    w = lambda name: os.path.join(a.work, name)

    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    qrels = defaultdict(dict)
    with open(os.path.join(a.data, "qrels/test.tsv"), encoding="utf-8") as f:
        for line in f:
            parts = line.strip().split("\t")
            if len(parts) == 3 and parts[2].lstrip("-").isdigit():
                qrels[parts[0]][parts[1]] = int(parts[2])
    queries = [q for q in read_jsonl(os.path.join(a.data, "queries.jsonl")) if q["_id"] in qrels]

    def doc_text(d):
        return f"{d['title']} {d['text']}" if d.get("title") else d["text"]

    write_jsonl(w("site.jsonl"), [{"id": d["_id"], "title": d.get("title", ""), "text": d["text"]} for d in corpus])
    write_jsonl(w("texts.jsonl"), [{"text": doc_text(d)} for d in corpus])
    write_jsonl(w("queries.jsonl"), [{"_id": q["_id"], "text": q["text"]} for q in queries])
    if not os.path.exists(w("docvecs.jsonl")):
        with open(w("docvecs.jsonl.tmp"), "w") as out:
            run([a.splade, "encode", "--model", a.model, "--side", "document", "--input", w("texts.jsonl")], stdout=out)
        os.replace(w("docvecs.jsonl.tmp"), w("docvecs.jsonl"))
    with open(w("qvecs.jsonl"), "w") as out:
        run([a.splade, "encode", "--model", a.model, "--side", "query", "--input", w("queries.jsonl")], stdout=out)

    # Exact f32 ranking over whole documents (ties: document id descending, as trec_eval).
    postings = defaultdict(list)
    for d, v in zip(corpus, read_jsonl(w("docvecs.jsonl"))):
        for t, x in zip(v["indices"], v["values"]):
            postings[t].append((d["_id"], x))
    exact = {}
    for q, v in zip(queries, read_jsonl(w("qvecs.jsonl"))):
        acc = defaultdict(float)
        for t, x in zip(v["indices"], v["values"]):
            for d, y in postings.get(t, ()):
                acc[d] += x * y
        ranked = sorted(acc.items(), key=lambda kv: (-kv[1], tuple(-ord(c) for c in kv[0])))
        exact[q["_id"]] = [d for d, s in ranked if s > 0][:100]

    run([a.splade, "site", "build", "--model", a.model, "--input", w("site.jsonl"), "--vectors",
         w("docvecs.jsonl"), "--out", w("bundle-vectors"), "--no-cache"])
    if not a.no_passages:
        run([a.splade, "site", "build", "--model", a.model, "--input", w("site.jsonl"), "--out",
             w("bundle-passages"), "--cache", w("passages.cache")])

    rows = [("exact f32 (Python, same vectors)", exact)]
    bundles = [("static bundle, one passage per document (--vectors)", "bundle-vectors")]
    if not a.no_passages:
        bundles.append(("static bundle, passages split by the builder (--model)", "bundle-passages"))
    for name, bundle in bundles:
        with open(w(bundle + ".hits.jsonl"), "w") as out:
            run([a.splade, "site", "search", w(bundle), "--queries", w("queries.jsonl"), "--k", "100"], stdout=out)
        rows.append((name, {r["query"]: by_document(r["hits"]) for r in read_jsonl(w(bundle + ".hits.jsonl"))}))

    score = lambda ranking: sum(ndcg10(ranking.get(q["_id"], []), qrels[q["_id"]]) for q in queries) / len(queries)
    if a.no_eval:
        ref, ref_name = score(exact), "exact f32"
    else:
        with open(w("eval.json"), "w") as out:
            run([a.splade, "eval", "--model", a.model, "--data", a.data], stdout=out)
        ref, ref_name = json.load(open(w("eval.json")))["ndcg@10"], "splade eval"
        print(f"`splade eval` (f32): nDCG@10 {ref:.4f}")

    print(f"| ranking | nDCG@10 | vs {ref_name} | mean top-10 overlap with exact f32 |")
    print(f"|---|---|---|---|")
    for name, ranking in rows:
        n = score(ranking)
        overlaps = []
        for q in queries:
            e = exact[q["_id"]][:10]
            if e:
                overlaps.append(len(set(e) & set(ranking.get(q["_id"], [])[:10])) / len(e))
        print(f"| {name} | {n:.4f} | {100 * (n - ref) / ref:+.2f}% | {sum(overlaps) / len(overlaps):.4f} |")


if __name__ == "__main__":
    main()
