// Browser side of the index benchmark: the same synthetic corpus as `splade bench-index`
// (src/index/bench.rs documents the generator; this is a bit-exact mirror), indexed through the
// wasm SparseIndex binding, then timed top-k queries. Sets window.__result (or __error).
import init, { SparseIndex } from "../pkg/splade_wasm.js";

const VOCAB_SIZE = 30522;
const TWO_32 = 4294967296;

const logEl = document.getElementById("log");
const log = (line) => {
  console.log(line);
  logEl.append(line + "\n");
};

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// Zipf (exponent 1) cumulative weights over the vocabulary, summed in the same order as Rust.
const CUMULATIVE = (() => {
  const c = new Float64Array(VOCAB_SIZE);
  let total = 0;
  for (let r = 0; r < VOCAB_SIZE; r++) {
    total += 1 / (r + 1);
    c[r] = total;
  }
  return c;
})();

class SyntheticCorpus {
  constructor(seed) {
    this.next = mulberry32(seed);
    this.seen = new Uint32Array(VOCAB_SIZE);
    this.stamp = 0;
  }

  nextF64() {
    return this.next() / TWO_32;
  }

  token() {
    const u = this.nextF64() * CUMULATIVE[VOCAB_SIZE - 1];
    let lo = 0;
    let hi = VOCAB_SIZE; // first index with CUMULATIVE[i] > u
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (CUMULATIVE[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, VOCAB_SIZE - 1);
  }

  // Returns {indices, values} sorted by token id (as SparseVector::from_pairs would hold them).
  vector(nnz, weight) {
    this.stamp++;
    const ids = [];
    const ws = [];
    while (ids.length < nnz) {
      const id = this.token();
      if (this.seen[id] !== this.stamp) {
        this.seen[id] = this.stamp;
        ids.push(id);
        ws.push(weight());
      }
    }
    const order = ids.map((_, i) => i).sort((a, b) => ids[a] - ids[b]);
    return {
      indices: Uint32Array.from(order, (i) => ids[i]),
      values: Float32Array.from(order, (i) => ws[i]),
    };
  }

  passage() {
    const nnz = 120 + (this.next() % 61);
    return this.vector(nnz, () => Math.fround((3 * (this.next() + 0.5)) / TWO_32));
  }

  query() {
    const nnz = 5 + (this.next() % 7);
    return this.vector(nnz, () => Math.fround(1 + 7 * this.nextF64()));
  }
}

const passageId = (i) => `notes/${String(Math.floor(i / 8)).padStart(5, "0")}.md#${i % 8}`;

// f32 sparse dot product in increasing token order, as SparseVector::dot computes it.
function dotF32(q, d) {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < q.indices.length && j < d.indices.length) {
    if (q.indices[i] < d.indices[j]) i++;
    else if (q.indices[i] > d.indices[j]) j++;
    else {
      sum = Math.fround(sum + Math.fround(q.values[i] * d.values[j]));
      i++;
      j++;
    }
  }
  return sum;
}

function better(a, b) {
  return a.score > b.score || (a.score === b.score && a.id < b.id);
}

// FNV-1a over hits: id UTF-8 bytes, 0, score f32 bits little-endian (as hits_digest in Rust).
function digest(hits) {
  const enc = new TextEncoder();
  const f = new DataView(new ArrayBuffer(4));
  let h = 0x811c9dc5;
  const eat = (b) => {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  };
  for (const hit of hits) {
    for (const b of enc.encode(hit.id)) eat(b);
    eat(0);
    f.setFloat32(0, hit.score, true);
    for (let i = 0; i < 4; i++) eat(f.getUint8(i));
  }
  return h.toString(16).padStart(8, "0");
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];

function timerResolutionMs() {
  let best = Infinity;
  for (let n = 0; n < 200; n++) {
    const a = performance.now();
    let b = a;
    while (b === a) b = performance.now();
    best = Math.min(best, b - a);
  }
  return best;
}

const sameHits = (a, b) => a.length === b.length && a.every((h, i) => h.id === b[i].id && h.score === b[i].score);

async function run({ passages, queries: queryCount, k, seed }) {
  const wasm = await init({ module_or_path: new URL("../pkg/splade_wasm_bg.wasm", import.meta.url) });
  const qgen = new SyntheticCorpus((seed ^ 0x9e3779b9) >>> 0);
  const queries = Array.from({ length: queryCount }, () => qgen.query());
  // Brute-force reference for the first queries, computed while the passages stream by.
  const checked = queries.slice(0, 3).map((q) => ({ q, top: [] }));

  const index = new SparseIndex();
  const pgen = new SyntheticCorpus(seed >>> 0);
  let addMs = 0;
  let generateMs = 0;
  const buildStart = performance.now();
  for (let i = 0; i < passages; i++) {
    const t0 = performance.now();
    const p = pgen.passage();
    const id = passageId(i);
    for (const c of checked) {
      const score = dotF32(c.q, p);
      if (score > 0) {
        c.top.push({ id, score });
        if (c.top.length > 4 * k) {
          c.top.sort((a, b) => (better(a, b) ? -1 : 1));
          c.top.length = k;
        }
      }
    }
    const t1 = performance.now();
    index.add(id, p.indices, p.values);
    addMs += performance.now() - t1;
    generateMs += t1 - t0;
    if ((i + 1) % 20000 === 0) log(`indexed ${i + 1}/${passages}`);
  }
  const buildWallMs = performance.now() - buildStart;
  const statsBuilt = index.stats();
  const shrinkStart = performance.now();
  index.shrinkToFit();
  const shrinkMs = performance.now() - shrinkStart;
  const wasmMemoryAfterBuild = wasm.memory.buffer.byteLength;

  for (const c of checked) {
    c.top.sort((a, b) => (better(a, b) ? -1 : 1));
    c.top.length = Math.min(c.top.length, k);
    const got = index.search(c.q.indices, c.q.values, k);
    if (!sameHits(got, c.top)) {
      throw new Error(`search disagrees with brute force: ${JSON.stringify({ got, want: c.top })}`);
    }
  }

  for (let i = 0; i < Math.min(10, queries.length); i++) {
    index.search(queries[i].indices, queries[i].values, k); // warm-up
  }
  const latencies = [];
  const allHits = [];
  const loopStart = performance.now();
  for (const q of queries) {
    const t0 = performance.now();
    const hits = index.search(q.indices, q.values, k);
    latencies.push(performance.now() - t0);
    for (const h of hits) allHits.push(h);
  }
  const loopMs = performance.now() - loopStart;
  latencies.sort((a, b) => a - b);

  const stats = index.stats();
  let t0 = performance.now();
  const bytes = index.save();
  const saveMs = performance.now() - t0;
  t0 = performance.now();
  const loaded = SparseIndex.load(bytes);
  const loadMs = performance.now() - t0;
  for (const q of queries.slice(0, 20)) {
    if (!sameHits(loaded.search(q.indices, q.values, k), index.search(q.indices, q.values, k))) {
      throw new Error("the loaded index answers differently");
    }
  }
  let corruptRejected = false;
  try {
    const bad = bytes.slice(0, bytes.length - 1);
    SparseIndex.load(bad);
  } catch (e) {
    corruptRejected = e instanceof Error && /truncated/.test(e.message);
  }
  loaded.free();

  return {
    bench: "index-wasm",
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    timer_resolution_ms: timerResolutionMs(),
    passages,
    nnz_per_passage: stats.postings / passages,
    tokens: stats.tokens,
    queries: queryCount,
    nnz_per_query: queries.reduce((s, q) => s + q.indices.length, 0) / queryCount,
    k,
    hits_per_query: allHits.length / queryCount,
    hits_digest: digest(allHits),
    brute_force_checked_queries: checked.length,
    build_add_s: addMs / 1000,
    build_generate_s: generateMs / 1000,
    build_wall_s: buildWallMs / 1000,
    search_ms_p50: percentile(latencies, 0.5),
    search_ms_p95: percentile(latencies, 0.95),
    search_ms_mean: loopMs / queryCount,
    search_ms_max: latencies[latencies.length - 1],
    memory_bytes_built: statsBuilt.memoryBytes,
    memory_bytes: stats.memoryBytes,
    postings_bytes: stats.postingsBytes,
    documents_bytes: stats.documentsBytes,
    shrink_ms: shrinkMs,
    wasm_memory_bytes_after_build: wasmMemoryAfterBuild,
    wasm_memory_bytes: wasm.memory.buffer.byteLength,
    serialized_bytes: bytes.length,
    save_s: saveMs / 1000,
    load_s: loadMs / 1000,
    truncated_file_rejected: corruptRejected,
  };
}

const params = new URLSearchParams(location.search);
const config = {
  passages: Number(params.get("passages") ?? 100000),
  queries: Number(params.get("queries") ?? 1000),
  k: Number(params.get("k") ?? 10),
  seed: Number(params.get("seed") ?? 1),
};
log(`config: ${JSON.stringify(config)}`);
run(config).then(
  (result) => {
    log(JSON.stringify(result, null, 2));
    window.__result = result;
  },
  (err) => {
    log(`error: ${err?.stack ?? err}`);
    window.__error = String(err?.message ?? err);
  },
);
