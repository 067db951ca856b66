// A module worker with its own wasm instance and encoder: splits and encodes documents.
// Protocol: {type: "init", module, source, maxTokens} -> {type: "ready", info};
// {type: "encode", job, docs: [{key, text}], mode} -> {type: "encoded", job, results, passages, ms}
// (mode: see encodeDocs);
// failures answer {type: "error", job, message}.
import { SparseEncoder } from "./encoder.js";
import { encodeDocs, tokenBudget } from "./encode-docs.js";
import { initWasm } from "./wasm.js";

let encoder = null;
let budget = null;

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

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "init") {
      await initWasm(data.module);
      encoder = data.source.kind === "pack" ? await SparseEncoder.fromPack(data.source.bytes) : await SparseEncoder.fromFiles(data.source.files);
      budget = tokenBudget(encoder, data.maxTokens ?? null);
      self.postMessage({ type: "ready", info: encoder.info() });
    } else if (data.type === "encode") {
      const started = performance.now();
      const { results, passages } = encodeDocs(encoder, budget, data.docs, data.mode);
      self.postMessage(
        { type: "encoded", job: data.job, results, passages, ms: performance.now() - started },
        transferables(results),
      );
    }
  } catch (err) {
    self.postMessage({ type: "error", job: data.job ?? null, message: err instanceof Error ? err.message : String(err) });
  }
};
