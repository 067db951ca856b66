// A module worker with its own wasm instance and encoder: splits and encodes documents.
// Protocol: {type: "init", module, source, maxTokens, testHooks} -> {type: "ready", info, memoryBytes};
// {type: "encode", job, docs: [{key, text}], mode} -> {type: "encoded", job, results, passages, ms,
// memoryBytes} (mode: see encodeDocs);
// failures answer {type: "error", job, message, trapped}: `trapped` when the wasm instance trapped
// (out of memory, a panic), after which it cannot be trusted and the pool replaces this worker.
// The source's bytes arrive transferred (the pool's own copy) and are let go once the model is built:
// the encoder below keeps no reference to them.
import { SparseEncoder } from "./encoder.js";
import { encodeDocs, tokenBudget } from "./encode-docs.js";
import { initWasm, wasmMemoryBytes } from "./wasm.js";

let encoder = null;
let budget = null;
let testHooks = null;

function transferables(results) {
  const out = [];
  for (const r of results) {
    for (const p of r.passages) {
      // "split" jobs answer offsets only.
      if (p.indices) {
        out.push(p.indices.buffer, p.values.buffer);
      }
    }
  }
  return out;
}

async function build(source) {
  const bindings = await initWasm();
  const raw = source.kind === "pack" ? bindings.SparseEncoder.fromPack(source.bytes) : new bindings.SparseEncoder(source.files);
  return new SparseEncoder(raw, { kind: source.kind });
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "init") {
      await initWasm(data.module);
      encoder = await build(data.source);
      data.source = null;
      budget = tokenBudget(encoder, data.maxTokens ?? null);
      testHooks = data.testHooks ?? null;
      self.postMessage({ type: "ready", info: encoder.info(), memoryBytes: wasmMemoryBytes() });
    } else if (data.type === "encode") {
      const started = performance.now();
      const { results, passages } = encodeDocs(encoder, budget, data.docs, data.mode, testHooks);
      self.postMessage(
        { type: "encoded", job: data.job, results, passages, ms: performance.now() - started, memoryBytes: wasmMemoryBytes() },
        transferables(results),
      );
    }
  } catch (err) {
    self.postMessage({
      type: "error",
      job: data.job ?? null,
      message: err instanceof Error ? err.message : String(err),
      trapped: err instanceof WebAssembly.RuntimeError,
    });
  }
};
