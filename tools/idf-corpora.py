#!/usr/bin/env python3
# Which corpus's IDF makes the best query weights for the default model: nDCG@10 on SciFact and
# LIMIT-small for IDF tables computed (`splade idf`) over each candidate corpus in ../shared/data.
# Query weights do not change document vectors, so each dataset's documents are encoded once
# (`splade encode --side document`, title + " " + text as `splade eval` does) and only the queries per
# table; scores and nDCG@10 follow src/eval.rs (checked: equal to `splade eval` on LIMIT-small).
# Usage: python3 tools/idf-corpora.py [work dir, default .cache/idf-corpora]   (slow: SciFact's 5,183 documents)
import json, math, os, subprocess, sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S = os.path.join(ROOT, "target/release/splade")
D = os.path.join(ROOT, "../shared/data")
M = os.path.join(ROOT, "models/splade-tiny")
WORK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache/idf-corpora")
CANDIDATES = {
    "sotu-passages": ["sotu-passages"],
    "python-peps": ["python-peps"],
    "scifact": ["scifact"],
    "limit-small": ["limit-small"],
    "sotu+peps": ["sotu-passages", "python-peps"],
}
DATASETS = ["scifact", "limit-small"]

def load_jsonl(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

def qrels(name):
    out = defaultdict(dict)
    tsv = f"{D}/{name}/qrels/test.tsv"
    if os.path.exists(tsv):
        for i, line in enumerate(open(tsv)):
            if i == 0: continue
            q, d, s = line.rstrip("\n").split("\t"); out[q][d] = int(s)
    else:
        for r in load_jsonl(f"{D}/{name}/qrels.jsonl"):
            out[str(r["query-id"])][str(r["corpus-id"])] = int(r["score"])
    return out

def ndcg10(ranking, judged):
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0

def evaluate(name, model):
    ids = [str(r["_id"]) for r in load_jsonl(f"{D}/{name}/corpus.jsonl")]
    docs = load_jsonl(os.path.join(WORK, f"{name}-docvec.jsonl"))
    inverted = defaultdict(list)
    for n, v in enumerate(docs):
        for t, w in zip(v["indices"], v["values"]):
            inverted[t].append((n, w))
    judged = qrels(name)
    queries = [q for q in load_jsonl(f"{D}/{name}/queries.jsonl") if str(q["_id"]) in judged]
    qfile = os.path.join(WORK, "queries.jsonl")
    with open(qfile, "w") as f:
        for q in queries: f.write(json.dumps({"text": q["text"]}) + "\n")
    out = subprocess.run([S, "encode", "--model", model, "--side", "query", "--input", qfile], capture_output=True, text=True, check=True).stdout
    total = 0.0
    for q, line in zip(queries, out.splitlines()):
        v = json.loads(line); scores = defaultdict(float)
        for t, w in zip(v["indices"], v["values"]):
            for n, dw in inverted.get(t, ()):
                scores[n] += w * dw
        ranking = [ids[n] for n, _ in sorted(scores.items(), key=lambda x: (-x[1], ids[x[0]]))]
        total += ndcg10(ranking, judged[str(q["_id"])])
    return total / len(queries)


def model_with_idf(name, corpora):
    folder = os.path.join(WORK, f"m-{name}")
    os.makedirs(folder, exist_ok=True)
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]:
        if not os.path.exists(os.path.join(folder, f)):
            os.symlink(os.path.join(M, f), os.path.join(folder, f))
    corpus = os.path.join(WORK, f"{name}.jsonl")
    with open(corpus, "w") as out:
        for c in corpora:
            with open(os.path.join(D, c, "corpus.jsonl")) as f:
                out.write(f.read())
    subprocess.run([S, "idf", corpus, "--tokenizer", os.path.join(M, "tokenizer.json"), "--output", os.path.join(folder, "idf.json")], check=True)
    return folder

def encode_documents(name, model):
    out = os.path.join(WORK, f"{name}-docvec.jsonl")
    if os.path.exists(out):
        return
    docs = os.path.join(WORK, f"{name}-docs.jsonl")
    with open(docs, "w") as o:
        for r in load_jsonl(os.path.join(D, name, "corpus.jsonl")):
            t, b = r.get("title") or "", r.get("text") or ""
            o.write(json.dumps({"text": f"{t} {b}" if t else b}) + "\n")
    with open(out + ".tmp", "w") as o:
        subprocess.run([S, "encode", "--model", model, "--side", "document", "--input", docs], stdout=o, check=True)
    os.replace(out + ".tmp", out)

os.makedirs(WORK, exist_ok=True)
models = {name: model_with_idf(name, corpora) for name, corpora in CANDIDATES.items()}
for d in DATASETS:
    encode_documents(d, models["sotu-passages"])
for name, model in models.items():
    print(name, " ".join(f"{d}={evaluate(d, model):.4f}" for d in DATASETS), flush=True)
