// Browser side of the benchmark: runs one configuration (engine, precision, workers, batch) on a
// pool of module Web Workers and reports timings. The main thread holds a splade-tiny
// SparseEncoder used only as the tokenizer for onnxruntime-web (documentTokenIds); it is loaded
// for every configuration so that each page's process memory has the same baseline.
import { describeAdapter } from "../pkg/device.js";
import init, { SparseEncoder, WebGpuEncoder } from "../pkg/splade_wasm.js";
import { chunk, latency, throughput, timeRepeats } from "./lib.mjs";

const logEl = document.getElementById("log");
const log = (line) => {
  console.log(line);
  logEl.append(line + "\n");
};

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) {
    throw new Error(`GET ${url}: ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function loadTokenizer(files, maxTokens) {
  const wasm = await init({ module_or_path: new URL("../pkg/splade_wasm_bg.wasm", import.meta.url) });
  const bytes = {};
  for (const [rel, url] of Object.entries(files)) {
    bytes[rel] = await fetchBytes(url);
  }
  const tok = new SparseEncoder(bytes);
  tok.setMaxDocumentTokens(maxTokens);
  return { tok, wasm };
}

class Pool {
  constructor(n) {
    this.nextId = 0;
    this.pending = new Map();
    this.workers = Array.from({ length: n }, () => {
      const w = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
      w.onmessage = ({ data }) => {
        const p = this.pending.get(data.id);
        this.pending.delete(data.id);
        data.ok ? p.resolve(data.result) : p.reject(new Error(data.error));
      };
      w.onerror = (e) => log(`worker error: ${e.message}`);
      return w;
    });
  }

  call(worker, msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  }

  all(msg) {
    return Promise.all(this.workers.map((w) => this.call(w, msg)));
  }

  // Hands chunks to whichever worker is free; `prepare` runs on the main thread just before a
  // chunk is sent (tokenization for onnxruntime-web), so it overlaps the other workers' work.
  async map(chunks, prepare, maxTokens, workers = this.workers) {
    let next = 0;
    let nonzeros = 0;
    await Promise.all(
      workers.map(async (w) => {
        while (next < chunks.length) {
          const items = prepare(chunks[next++]);
          const done = await this.call(w, { type: "encode", items, maxTokens });
          nonzeros += done.nonzeros;
        }
      }),
    );
    return nonzeros;
  }

  terminate() {
    this.workers.forEach((w) => w.terminate());
  }
}

// WebGPU on this page's main thread: the same passages in chunks of `batch`, each chunk one
// encodeDocuments call (the GPU encoder pads and batches it), and the long document alone.
async function runWebGpu(cfg, tok) {
  const t0 = performance.now();
  let gpu;
  if (cfg.packUrl) {
    gpu = await WebGpuEncoder.fromPack(await fetchBytes(cfg.packUrl));
  } else {
    const files = {};
    for (const [rel, url] of Object.entries(cfg.modelFiles)) {
      files[rel] = await fetchBytes(url);
    }
    gpu = await WebGpuEncoder.fromFiles(files);
  }
  const loadMs = performance.now() - t0;
  const adapter = await describeAdapter(gpu);
  log(`webgpu ${cfg.label}: loaded on ${adapter.adapter} (${adapter.backend}) in ${loadMs.toFixed(0)} ms`);
  gpu.setMaxDocumentTokens(cfg.passageTokens);
  const tokens = cfg.passages.reduce((n, t) => n + tok.documentTokenIds(t).length, 0);
  const chunks = chunk(cfg.passages, cfg.batch);
  const encodeAll = async () => {
    let nonzeros = 0;
    for (const texts of chunks) {
      for (const v of await gpu.encodeDocuments(texts)) {
        nonzeros += v.indices.length;
      }
    }
    return nonzeros;
  };
  await gpu.encodeDocuments(chunks[0]);
  let nonzeros = 0;
  const seconds = await timeRepeats(cfg.reps, async () => {
    nonzeros = await encodeAll();
  });
  const result = {
    load_ms: loadMs,
    adapter: adapter.adapter,
    adapter_software: adapter.software,
    passages: cfg.passages.length,
    tokens,
    nonzeros_per_doc: nonzeros / cfg.passages.length,
    ...throughput(seconds, cfg.passages.length, tokens),
  };
  log(`  ${result.docs_per_s.toFixed(2)} docs/s (best ${result.docs_per_s_best.toFixed(2)})`);
  if (cfg.document) {
    gpu.setMaxDocumentTokens(cfg.documentTokens);
    await gpu.encodeDocuments([cfg.document]);
    result.document = latency(await timeRepeats(cfg.documentReps, () => gpu.encodeDocuments([cfg.document])));
    log(`  512-token document: ${result.document.ms.toFixed(1)} ms`);
  }
  gpu.free();
  return result;
}

// cfg: {engine: "ours" | "ort" | "webgpu", workers, batch, reps, passages: string[], passageTokens,
//       document?: string, documentTokens, documentReps, query?: string, queryBlocks, queryPerBlock,
//       tokenizerFiles: {rel: url}, modelFiles (ours f32): {rel: url}, packUrl (ours q8_0), onnxUrl (ort)}
window.runConfig = async function runConfig(cfg) {
  const { tok, wasm: tokWasm } = await loadTokenizer(cfg.tokenizerFiles, cfg.passageTokens);
  if (cfg.engine === "webgpu") {
    const result = await runWebGpu(cfg, tok);
    tok.free();
    return result;
  }
  const passageIds = cfg.passages.map((t) => tok.documentTokenIds(t));
  const tokens = passageIds.reduce((n, ids) => n + ids.length, 0);

  const pool = new Pool(cfg.workers);
  const base = new URL("../", import.meta.url);
  const initMsg =
    cfg.engine === "ours"
      ? {
          type: "init",
          engine: "ours",
          pkgUrl: new URL("pkg/splade_wasm.js", base).href,
          wasmUrl: new URL("pkg/splade_wasm_bg.wasm", base).href,
          files: cfg.modelFiles,
          packUrl: cfg.packUrl,
          maxTokens: cfg.passageTokens,
        }
      : {
          type: "init",
          engine: "ort",
          ortUrl: new URL("node_modules/onnxruntime-web/dist/ort.wasm.min.mjs", base).href,
          ortDistUrl: new URL("node_modules/onnxruntime-web/dist/", base).href,
          onnxUrl: cfg.onnxUrl,
        };
  const t0 = performance.now();
  const loads = await pool.all(initMsg);
  const loadMs = performance.now() - t0;
  log(`${cfg.engine} ${cfg.label}: ${cfg.workers} worker(s) loaded in ${loadMs.toFixed(0)} ms`);

  // Tokenization counts on both sides: ours tokenizes inside encodeDocument(s); for
  // onnxruntime-web the main thread calls documentTokenIds just before handing a chunk over.
  const prepareAt = (maxTokens) =>
    cfg.engine === "ours"
      ? (texts) => texts
      : (texts) => {
          if (maxTokens !== cfg.passageTokens) {
            tok.setMaxDocumentTokens(maxTokens);
          }
          const ids = texts.map((t) => tok.documentTokenIds(t));
          if (maxTokens !== cfg.passageTokens) {
            tok.setMaxDocumentTokens(cfg.passageTokens);
          }
          return ids;
        };

  const chunks = chunk(cfg.passages, cfg.batch);
  // Warm-up: one chunk per worker (first runs compile and allocate).
  await pool.map(chunks.slice(0, cfg.workers), prepareAt(cfg.passageTokens), cfg.passageTokens);
  let nonzeros = 0;
  const seconds = await timeRepeats(cfg.reps, async () => {
    nonzeros = await pool.map(chunks, prepareAt(cfg.passageTokens), cfg.passageTokens);
  });
  const result = {
    load_ms: loadMs,
    model_load_ms: loads.map((l) => l.loadMs),
    passages: cfg.passages.length,
    tokens,
    nonzeros_per_doc: nonzeros / cfg.passages.length,
    ...throughput(seconds, cfg.passages.length, tokens),
  };
  log(`  ${result.docs_per_s.toFixed(2)} docs/s (best ${result.docs_per_s_best.toFixed(2)})`);

  if (cfg.document) {
    // Latency of one long document on one worker, batch 1.
    const docChunks = [[cfg.document]];
    const prepare = prepareAt(cfg.documentTokens);
    const first = [pool.workers[0]];
    await pool.map(docChunks, prepare, cfg.documentTokens, first);
    const docSeconds = await timeRepeats(cfg.documentReps, () =>
      pool.map(docChunks, prepare, cfg.documentTokens, first),
    );
    tok.setMaxDocumentTokens(cfg.documentTokens);
    result.document_tokens = tok.documentTokenIds(cfg.document).length;
    tok.setMaxDocumentTokens(cfg.passageTokens);
    result.document = latency(docSeconds);
    log(`  512-token document: ${result.document.ms.toFixed(1)} ms`);
  }

  if (cfg.query && cfg.engine === "ours") {
    result.query_tokens = tok.queryTokenIds(cfg.query).length;
    result.query = await pool.call(pool.workers[0], {
      type: "query",
      text: cfg.query,
      blocks: cfg.queryBlocks,
      perBlock: cfg.queryPerBlock,
    });
    log(`  query: ${result.query.us_median.toFixed(1)} µs`);
  }

  const mem = await pool.all({ type: "memory" });
  result.worker_wasm_bytes = mem.map((m) => m.wasmBytes);
  result.tokenizer_wasm_bytes = tokWasm.memory.buffer.byteLength;
  pool.terminate();
  tok.free();
  return result;
};

window.benchReady = true;
