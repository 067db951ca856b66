#!/usr/bin/env bash
# Chooses the shard size and fragment grouping by measured cost: builds the python-peps bundle
# with the default model at several --shard-bytes and --passages-per-fragment (the vector cache
# makes every build after the first a few seconds), and prints files and bytes per query over
# realistic queries (cold cache, and in one session where fetched files stay cached).
#
#   bench/site-shards.sh [QUERIES.jsonl]    (JSON lines with `text`; default: 300 queries made of
#                                            the first words of PEP section headings, seed 7)
#   SPLADE=target/release/splade MODEL=models/splade-tiny WORK=.cache/site-shards
#   INPUT=site.jsonl VECTORS=vectors.jsonl: another corpus, from vectors (`splade encode` output,
#   one per record), e.g. SciFact as bench/site-quality.py prepares it:
#   INPUT=.cache/site-quality/site.jsonl VECTORS=.cache/site-quality/docvecs.jsonl \
#     bench/site-shards.sh .cache/site-quality/queries.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
SPLADE=${SPLADE:-target/release/splade}
MODEL=${MODEL:-models/splade-tiny}
WORK=${WORK:-.cache/site-shards}
QUERIES=${1:-$WORK/queries.jsonl}
mkdir -p "$WORK"
python3 - "$WORK/site.jsonl" "$WORK/queries.jsonl" <<'PY'
import json, random, re, sys
rows = [json.loads(line) for line in open("../shared/data/python-peps/corpus.jsonl")]
with open(sys.argv[1], "w") as out:
    for r in rows:
        pep = r["_id"].split("-")[1]
        out.write(json.dumps({"id": r["_id"], "title": r["title"], "url": f"https://peps.python.org/pep-{pep}/", "text": r["text"]}) + "\n")
headings = sorted({r["title"].split("›")[-1].strip() for r in rows if "›" in r["title"]})
random.seed(7)
random.shuffle(headings)
queries = [q for q in (" ".join(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", h)[:4]).lower() for h in headings) if len(q) >= 4][:300]
with open(sys.argv[2], "w") as out:
    for i, q in enumerate(queries):
        out.write(json.dumps({"_id": str(i), "text": q}) + "\n")
PY
printf '| shard bytes | per fragment | shards | shards MB | fragments MB | cold: files med/p95 | cold: KB med/p95 | session: files med/p95 | session: KB med/p95 | cold shard KB med | session shard KB med |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for setting in "4096 8" "8192 8" "16384 8" "32768 8" "65536 8" "16384 4" "16384 16" "16384 32"; do
  set -- $setting
  out="$WORK/bundle-$1-$2"
  if [ -n "${VECTORS:-}" ]; then
    "$SPLADE" site build --model "$MODEL" --input "$INPUT" --vectors "$VECTORS" --out "$out" --no-cache \
      --shard-bytes "$1" --passages-per-fragment "$2" > "$out.build.json"
  else
    "$SPLADE" site build --model "$MODEL" --input "$WORK/site.jsonl" --out "$out" --cache "$WORK/vectors.cache" \
      --shard-bytes "$1" --passages-per-fragment "$2" > "$out.build.json"
  fi
  "$SPLADE" site bench "$out" --queries "$QUERIES" > "$out.bench.json"
  python3 - "$1" "$2" "$out.build.json" "$out.bench.json" <<'PY'
import json, sys
s, g, b, q = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
c, w = q["cold"], q["inSequence"]
kb = lambda x: f'{x["median"] / 1024:.1f} / {x["p95"] / 1024:.1f}'
fl = lambda x: f'{x["median"]} / {x["p95"]}'
print(f'| {s} | {g} | {b["shards"]} | {b["shardBytes"] / 1e6:.2f} | {b["fragmentBytes"] / 1e6:.2f} | {fl(c["files"])} | {kb(c["bytes"])} '
      f'| {fl(w["files"])} | {kb(w["bytes"])} | {c["shardBytes"]["median"] / 1024:.1f} | {w["shardBytes"]["median"] / 1024:.1f} |')
PY
done
