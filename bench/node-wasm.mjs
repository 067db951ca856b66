// Our wasm encoder in Node, one configuration per process (so that its peak RSS is its own):
//   node bench/node-wasm.mjs '{"model": DIR, "passages": FILE, "batch": 8, ...}'
// Prints one JSON object. Also usable alone, e.g. under `node --cpu-prof` for a profile.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chunk, latency, median, queryLatency, throughput, timeRepeats } from "./lib.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cfg = {
  model: "models/splade-tiny",
  passages: "../shared/baselines/passages-128.json",
  document: "../shared/baselines/document-512.json",
  passageTokens: 128,
  documentTokens: 512,
  batch: 8,
  reps: 3,
  documentReps: 5,
  query: "how does cerebral white matter develop in human newborn infants",
  queryCalls: 10_000,
  // Another build of the package, for an A/B comparison in one session.
  pkg: "pkg",
  ...JSON.parse(process.argv[2] ?? "{}"),
};
const resolve = (p) => path.resolve(ROOT, p);

function readFolder(dir) {
  const files = {};
  const walk = (sub) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(path.join(dir, rel)).isDirectory()) {
        walk(rel);
      } else if (name !== "manifest.json" && name !== "LICENSE") {
        files[rel] = new Uint8Array(readFileSync(path.join(dir, rel)));
      }
    }
  };
  walk("");
  return files;
}

const { default: init, SparseEncoder } = await import(path.join(resolve(cfg.pkg), "splade_wasm.js"));
const wasm = await init({ module_or_path: readFileSync(path.join(resolve(cfg.pkg), "splade_wasm_bg.wasm")) });
let t0 = performance.now();
// A model pack (cfg.pack) or a model folder (cfg.model).
const enc = cfg.pack
  ? SparseEncoder.fromPack(new Uint8Array(readFileSync(resolve(cfg.pack))))
  : new SparseEncoder(readFolder(resolve(cfg.model)));
const loadMs = performance.now() - t0;

let passages = JSON.parse(readFileSync(resolve(cfg.passages), "utf8"));
if (cfg.limit) {
  passages = passages.slice(0, cfg.limit);
}
enc.setMaxDocumentTokens(cfg.passageTokens);
const tokens = passages.reduce((n, t) => n + enc.documentTokenIds(t).length, 0);
const chunks = chunk(passages, cfg.batch);
const run = () => {
  let nonzeros = 0;
  for (const c of chunks) {
    const vs = c.length === 1 ? [enc.encodeDocument(c[0])] : enc.encodeDocuments(c);
    nonzeros += vs.reduce((n, v) => n + v.indices.length, 0);
  }
  return nonzeros;
};
for (const c of chunks.slice(0, 1)) {
  enc.encodeDocuments(c); // warm-up
}
let nonzeros = 0;
const seconds = await timeRepeats(cfg.reps, () => {
  nonzeros = run();
});
const result = {
  load_ms: loadMs,
  passages: passages.length,
  tokens,
  nonzeros_per_doc: nonzeros / passages.length,
  ...throughput(seconds, passages.length, tokens),
};

if (cfg.document && cfg.documentReps > 0) {
  const text = JSON.parse(readFileSync(resolve(cfg.document), "utf8")).text;
  enc.setMaxDocumentTokens(cfg.documentTokens);
  result.document_tokens = enc.documentTokenIds(text).length;
  enc.encodeDocument(text);
  result.document = latency(await timeRepeats(cfg.documentReps, () => enc.encodeDocument(text)));
}

if (cfg.query && cfg.queryCalls > 0) {
  // Node's clock is fine-grained: time every call and take the median, plus the block method
  // the browser has to use.
  result.query_tokens = enc.queryTokenIds(cfg.query).length;
  const perCall = [];
  for (let i = 0; i < cfg.queryCalls; i++) {
    t0 = process.hrtime.bigint();
    enc.encodeQuery(cfg.query);
    perCall.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  result.query = {
    calls: cfg.queryCalls,
    us_median: median(perCall),
    us_best: Math.min(...perCall),
    blocks: queryLatency((t) => enc.encodeQuery(t), cfg.query),
  };
}

result.wasm_bytes = wasm.memory.buffer.byteLength;
result.max_rss_bytes = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify(result));
