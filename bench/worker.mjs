// One encoder per Web Worker (a module worker): ours (the wasm package, its own instance) or the
// baseline onnxruntime-web (wasm backend, one thread). Driven by bench/page.mjs with messages
// {id, type: "init" | "encode" | "query" | "memory", ...}; answers {id, ok, result | error}.
import { denseRowToSparse, queryLatency } from "./lib.mjs";

let engine = null;

self.onmessage = async ({ data: msg }) => {
  try {
    const result = await handle(msg);
    self.postMessage({ id: msg.id, ok: true, result });
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
};

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) {
    throw new Error(`GET ${url}: ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function handle(msg) {
  switch (msg.type) {
    case "init":
      engine = msg.engine === "ours" ? await initOurs(msg) : await initOrt(msg);
      return { loadMs: engine.loadMs };
    case "encode":
      return engine.encode(msg.items, msg.maxTokens);
    case "query":
      return engine.queryBench(msg.text, msg.blocks, msg.perBlock);
    case "memory":
      return engine.memory();
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

// files: a model folder ({rel: url}), or packUrl: a model pack.
async function initOurs({ pkgUrl, wasmUrl, files, packUrl, maxTokens }) {
  const { default: init, SparseEncoder } = await import(pkgUrl);
  const wasm = await init({ module_or_path: new URL(wasmUrl) });
  const bytes = {};
  for (const [rel, url] of Object.entries(packUrl ? {} : files)) {
    bytes[rel] = await fetchBytes(url);
  }
  const pack = packUrl ? await fetchBytes(packUrl) : null;
  const t0 = performance.now();
  const enc = pack ? SparseEncoder.fromPack(pack) : new SparseEncoder(bytes);
  const loadMs = performance.now() - t0;
  let currentMax = maxTokens;
  enc.setMaxDocumentTokens(currentMax);
  return {
    loadMs,
    // items: texts; one text goes through encodeDocument, several through encodeDocuments.
    encode(items, max) {
      if (max !== currentMax) {
        enc.setMaxDocumentTokens(max);
        currentMax = max;
      }
      const vectors = items.length === 1 ? [enc.encodeDocument(items[0])] : enc.encodeDocuments(items);
      return { nonzeros: vectors.reduce((n, v) => n + v.indices.length, 0) };
    },
    queryBench: (text, blocks, perBlock) => queryLatency((t) => enc.encodeQuery(t), text, blocks, perBlock),
    memory: () => ({ wasmBytes: wasm.memory.buffer.byteLength }),
  };
}

async function initOrt({ ortUrl, ortDistUrl, onnxUrl }) {
  const ort = await import(ortUrl);
  ort.env.wasm.numThreads = 1; // one thread per worker: no SharedArrayBuffer needed
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = ortDistUrl; // served locally from node_modules, nothing remote
  const model = await fetchBytes(onnxUrl);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const loadMs = performance.now() - t0;
  return {
    loadMs,
    // items: token id arrays (already truncated, [CLS] ... [SEP]); padded to the longest.
    async encode(items) {
      const n = items.length;
      const len = Math.max(...items.map((ids) => ids.length));
      const ids = new BigInt64Array(n * len);
      const mask = new BigInt64Array(n * len);
      const types = new BigInt64Array(n * len);
      items.forEach((row, i) => {
        for (let j = 0; j < row.length; j++) {
          ids[i * len + j] = BigInt(row[j]);
          mask[i * len + j] = 1n;
        }
      });
      const dims = [n, len];
      const out = await session.run({
        input_ids: new ort.Tensor("int64", ids, dims),
        attention_mask: new ort.Tensor("int64", mask, dims),
        token_type_ids: new ort.Tensor("int64", types, dims),
      });
      const sparse = out.sparse;
      const width = sparse.dims[1];
      let nonzeros = 0;
      for (let i = 0; i < n; i++) {
        nonzeros += denseRowToSparse(sparse.data, i * width, width).indices.length;
      }
      sparse.dispose?.();
      return { nonzeros };
    },
    queryBench() {
      throw new Error("onnxruntime-web has no query encoder");
    },
    memory: () => ({ wasmBytes: null }),
  };
}
