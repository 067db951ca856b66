#!/usr/bin/env bash
# How a static search bundle grows with the corpus: builds bundles of 10k, 100k and 1M synthetic
# passage vectors (the index benchmark's generator, src/index/bench.rs) and measures, over 1,000
# synthetic queries, the files and bytes one query reads (cold cache, and in a session where
# earlier queries' shards are cached). Not part of CI (the 1M build takes minutes).
#
#   bench/site-scale.sh [SIZES...]        default: 10000 100000 1000000
#   SPLADE=target/release/splade WORK=.cache/site-scale QUERIES=1000 SHARD_BYTES=2048
#   HEAD_POSTINGS=0 (lists longer than this are split by impact; 0: never, the default)
set -euo pipefail
cd "$(dirname "$0")/.."
SPLADE=${SPLADE:-target/release/splade}
WORK=${WORK:-.cache/site-scale}
QUERIES=${QUERIES:-1000}
SHARD_BYTES=${SHARD_BYTES:-2048}
HEAD_POSTINGS=${HEAD_POSTINGS:-0}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)
mkdir -p "$WORK"

printf '| passages | build s | bundle MB | shard files | shard MB | cold query: files med/p95 | cold query: KB med/p95 | in session: files med/p95 | in session: KB med/p95 | search ms med |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for n in "${SIZES[@]}"; do
  out="$WORK/bundle-$n-$HEAD_POSTINGS"
  build=$("$SPLADE" site build --synthetic "$n" --out "$out" --no-cache --shard-bytes "$SHARD_BYTES" \
    --head-postings "$HEAD_POSTINGS" 2>/dev/null)
  bench=$("$SPLADE" site bench "$out" --synthetic-queries "$QUERIES")
  python3 - "$n" "$build" "$bench" <<'PY'
import json, sys
n, b, q = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
c, s = q["cold"], q["inSequence"]
kb = lambda x: f'{x["median"] / 1024:.1f} / {x["p95"] / 1024:.1f}'
fl = lambda x: f'{x["median"]} / {x["p95"]}'
print(f'| {int(n):,} | {b["seconds"]:.1f} | {b["totalBytes"] / 1e6:.1f} | {b["shards"]} | {b["shardBytes"] / 1e6:.1f} '
      f'| {fl(c["files"])} | {kb(c["bytes"])} | {fl(s["files"])} | {kb(s["bytes"])} | {q["searchMsMedian"]:.2f} |')
PY
done
