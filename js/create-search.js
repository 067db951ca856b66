// createSearch: the model loaded, the encoder pool on its device, an empty Search over them.
import { openEncoderPool } from "./device.js";
import { SparseEncoder } from "./encoder.js";
import { defaultWorkerCount } from "./pool.js";
import { Search } from "./search.js";
import { initWasm } from "./wasm.js";

/**
 * A ready search: loads the model (`model`: a URL of a pack or a folder ending in "/", or a
 * SparseEncoder), starts up to `workers` encoder workers (default: one per core, at most 4; 0 encodes
 * on the calling thread, as in Node), as many as fit `memoryBudget` (bytes; see `Search.workerPlan`),
 * and returns a `Search`. `workerUrl` is where the package's worker.js is served when a bundler moved
 * it (bundlers that understand `new Worker(new URL(..., import.meta.url))`, such as Vite and webpack 5,
 * need none). Workers that cannot start fall back to the calling thread with a console error and
 * `search.workerFallback` set, or reject with `fallback: false`. `device`: "wasm" (default), "webgpu"
 * (throws without a usable adapter) or "auto" (WebGPU if it agrees with wasm and is faster here).
 */
export async function createSearch({
  model,
  workers = defaultWorkerCount(),
  workerUrl = null,
  fallback = true,
  maxPassageTokens = null,
  memoryBudget = null,
  onProgress = null,
  signal = null,
  cacheName,
  device = "wasm",
} = {}) {
  if (model == null) {
    throw new TypeError("createSearch needs a model: a URL or a SparseEncoder");
  }
  const ownsEncoder = !(model instanceof SparseEncoder);
  const encoder = ownsEncoder
    ? await SparseEncoder.load(model, { onProgress, signal, ...(cacheName !== undefined ? { cacheName } : {}) })
    : model;
  const [Index, pool] = await Promise.all([
    initWasm().then((bindings) => bindings.SparseIndex),
    openEncoderPool(encoder, { device, size: workers, maxTokens: maxPassageTokens, workerUrl, fallback, memoryBudget }),
  ]);
  return new Search({ encoder, pool, Index, ownsEncoder });
}
