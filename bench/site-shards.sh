#!/usr/bin/env bash
# Chooses the shard size, fragment grouping and list splitting by measured cost: rebuilds the
# python-peps bundle with the default model at several --shard-bytes / --passages-per-fragment /
# --head-postings (from the passage cache `./build.sh peps` leaves, so each build takes seconds),
# and prints files and bytes per query over bench/site-queries.txt (238 queries, k = 10, the hits'
# fragments included): cold cache, and in one session where fetched files stay cached (what a
# visitor's later queries cost).
#
#   bench/site-shards.sh ["SHARD_BYTES PER_FRAGMENT HEAD_POSTINGS" ...]
#   SPLADE=target/release/splade MODEL=models/splade-tiny WORK=.cache/site-shards
#   INPUT=.cache/site/python-peps.jsonl CACHE=.cache/site/peps.cache QUERIES=bench/site-queries.txt
set -euo pipefail
cd "$(dirname "$0")/.."
SPLADE=${SPLADE:-target/release/splade}
MODEL=${MODEL:-models/splade-tiny}
WORK=${WORK:-.cache/site-shards}
INPUT=${INPUT:-.cache/site/python-peps.jsonl}
CACHE=${CACHE:-.cache/site/peps.cache}
QUERIES=${QUERIES:-bench/site-queries.txt}
SETTINGS=("$@")
[ ${#SETTINGS[@]} -gt 0 ] || SETTINGS=("2048 4 0" "2048 8 0" "2048 16 0" "2048 32 0" "1024 8 0" "4096 16 0" "2048 8 4096" "2048 8 8192")
[ -f "$CACHE" ] || echo "note: $CACHE is missing, so every build encodes the corpus (run ./build.sh peps first)" >&2
mkdir -p "$WORK"
python3 -c 'import json, sys; [print(json.dumps({"_id": str(i), "text": q})) for i, q in enumerate(l.strip() for l in open(sys.argv[1]) if l.strip())]' \
  "$QUERIES" >"$WORK/queries.jsonl"

printf '| shard bytes | per fragment | head postings | shards + tails | shards MB | fragments MB | manifest KB gz | cold: files med/p95 | cold: KB med/p95 | session: files med/p95 | session: KB med/p95 | search ms med |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for setting in "${SETTINGS[@]}"; do
  set -- $setting
  out="$WORK/bundle-$1-$2-$3"
  "$SPLADE" site build --model "$MODEL" --input "$INPUT" --out "$out" --cache "$CACHE" \
    --shard-bytes "$1" --passages-per-fragment "$2" --head-postings "$3" >"$out.build.json" 2>/dev/null
  "$SPLADE" site bench "$out" --queries "$WORK/queries.jsonl" >"$out.bench.json"
  python3 - "$setting" "$out" <<'PY'
import gzip, json, sys
(s, g, h), out = sys.argv[1].split(), sys.argv[2]
b, q = json.load(open(out + ".build.json")), json.load(open(out + ".bench.json"))
m = open(out + "/manifest.json", "rb").read()
shards = json.loads(m)["shards"]
c, w = q["cold"], q["inSequence"]
kb = lambda x: f'{x["median"] / 1024:.1f} / {x["p95"] / 1024:.1f}'
fl = lambda x: f'{x["median"]} / {x["p95"]}'
print(f'| {s} | {g} | {h} | {shards["count"]} + {shards["tails"]} | {b["shardBytes"] / 1e6:.2f} | {b["fragmentBytes"] / 1e6:.2f} '
      f'| {len(gzip.compress(m, 9)) / 1024:.1f} | {fl(c["files"])} | {kb(c["bytes"])} | {fl(w["files"])} | {kb(w["bytes"])} | {q["searchMsMedian"]:.2f} |')
PY
done
