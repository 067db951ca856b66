// Which device encodes documents: the wasm worker pool, or the WebGPU encoder (one per page, on the
// calling thread) chosen by measuring both on this device. A failing GPU (lost device, driver
// reset) hands the batch in flight to the wasm pool and stays off: nothing is lost or indexed twice,
// because a batch's results reach the index only once its encode call resolves.
import { planPassages, tokenBudget, withVectors } from "./encode-docs.js";
import { EncoderPool } from "./pool.js";
import { initWasm } from "./wasm.js";

export const DEVICES = ["auto", "webgpu", "wasm"];

/** Document weights may differ from wasm by this much (absolute) before WebGPU is not trusted. */
export const AGREEMENT_TOLERANCE = 1e-3;

const WARMUP_TEXTS = [
  "Mars, known for its reddish appearance, is often referred to as the Red Planet.",
  "Venus is often called Earth's twin because of its similar size and proximity.",
  "The Eiffel Tower was completed in 1889 and is located in Paris, France.",
  "Photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen in plant cells.",
];

const STORAGE_PREFIX = "splade-wasm:device:";

/** The WebGPU encoder of `encoder`'s model, or an Error saying why there is none. */
async function openGpuEncoder(encoder) {
  if (typeof navigator === "undefined" || navigator.gpu == null) {
    throw new Error("WebGPU: this JavaScript environment has no navigator.gpu");
  }
  const bindings = await initWasm();
  if (bindings.WebGpuEncoder == null) {
    throw new Error("WebGPU: this build of splade-wasm has no WebGPU encoder");
  }
  const source = encoder.source;
  return source.kind === "pack"
    ? bindings.WebGpuEncoder.fromPack(source.bytes)
    : bindings.WebGpuEncoder.fromFiles(source.files);
}

/**
 * `gpu.adapter()` completed from the browser's own `GPUAdapterInfo`: Chromium leaves the description
 * (wgpu's adapter name) empty, so the vendor and architecture name it ("google swiftshader"), and
 * `isFallbackAdapter` or SwiftShader marks a software adapter.
 */
export async function describeAdapter(gpu) {
  const reported = gpu.adapter();
  let info = null;
  try {
    info = (await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" }))?.info ?? null;
  } catch {
    // Only the name suffers.
  }
  const named = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ");
  return {
    adapter: reported.adapter || named || "unnamed adapter",
    backend: reported.backend,
    software: reported.software || info?.isFallbackAdapter === true || /swiftshader/i.test(named),
  };
}

/** Max abs difference of two lists of sparse vectors, or Infinity when their non-zero sets above the tolerance differ. */
export function vectorDifference(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const weights = new Map();
    a[i].indices.forEach((id, k) => weights.set(id, [a[i].values[k], 0]));
    b[i].indices.forEach((id, k) => weights.set(id, [weights.get(id)?.[0] ?? 0, b[i].values[k]]));
    for (const [x, y] of weights.values()) {
      if ((x === 0 || y === 0) && Math.max(x, y) > AGREEMENT_TOLERANCE) {
        return Infinity;
      }
      worst = Math.max(worst, Math.abs(x - y));
    }
  }
  return worst;
}

function remembered(key) {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function remember(key, value) {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // Private mode or no storage: the choice is measured again next time.
  }
}

/**
 * Encodes like an `EncoderPool` (`encode(docs)` → `{results, passages, ms}`) on the chosen device.
 * `device` says which one runs and why: `{backend: "webgpu"|"wasm", adapter, reason, docsPerSecond}`.
 */
export class DevicePool {
  #wasm;
  #gpu;
  #budget;

  constructor(wasmPool, gpu, budget, device) {
    this.#wasm = wasmPool;
    this.#gpu = gpu;
    this.#budget = budget;
    this.device = device;
  }

  get size() {
    return this.#wasm.size;
  }

  get concurrency() {
    // The GPU encoder runs one batch at a time.
    return this.#gpu != null ? 1 : this.#wasm.concurrency;
  }

  get fallbackReason() {
    return this.#wasm.fallbackReason;
  }

  /** The wasm workers' plan and memory (`EncoderPool.plan`, `EncoderPool.memory`). */
  get plan() {
    return this.#wasm.plan;
  }

  get memory() {
    return this.#wasm.memory;
  }

  /** As `EncoderPool.encode`; "split" jobs (no vectors) always go to the wasm pool. */
  async encode(docs, { mode = "docs" } = {}) {
    const gpu = this.#gpu;
    if (gpu != null && mode !== "split") {
      const started = performance.now();
      try {
        const plan = planPassages(this.#budget, docs, mode);
        const vectors = plan.texts.length > 0 ? await gpu.encodeDocuments(plan.texts) : [];
        return { ...withVectors(docs, plan, vectors), ms: performance.now() - started };
      } catch (err) {
        // Lost device, out of memory, or anything else the GPU path cannot do: this batch and the
        // rest go to wasm. Nothing of this batch reached the caller, so nothing is indexed twice.
        this.#dropGpu(`WebGPU failed mid-run (${err?.message ?? err}); continuing on wasm`);
      }
    }
    return this.#wasm.encode(docs, { mode });
  }

  #dropGpu(reason) {
    console.warn(`splade-wasm: ${reason}`);
    this.#gpu = null;
    this.device = { ...this.device, backend: "wasm", reason };
  }

  /** For tests: destroys the GPU device, as a lost device would (the next GPU call fails). */
  simulateDeviceLoss() {
    this.#gpu?.destroyDevice();
  }

  clearQueue(reason) {
    this.#wasm.clearQueue(reason);
  }

  terminate() {
    this.#gpu?.free();
    this.#gpu = null;
    this.#wasm.terminate();
  }
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/**
 * Milliseconds for the same work on both paths, each timed on its second run (the first compiles
 * kernels, allocates buffers and builds lazy tables): the warm-up texts once per wasm worker, all
 * workers at once, against the GPU encoding all those texts in one call.
 */
async function raceWarmup(gpu, wasmPool) {
  const lanes = Math.max(1, wasmPool.size);
  const jobs = Array.from({ length: lanes }, (_, lane) => WARMUP_TEXTS.map((text, i) => ({ key: `${lane}:${i}`, text })));
  const texts = jobs.flat().map((doc) => doc.text);
  const onWasm = () => Promise.all(jobs.map((docs) => wasmPool.encode(docs)));
  const onGpu = () => gpu.encodeDocuments(texts);
  await onWasm();
  await onGpu();
  return { wasmMs: await timed(onWasm), gpuMs: await timed(onGpu) };
}

/**
 * Chooses where `encoder`'s documents are encoded and returns a `DevicePool` over `wasmPool`.
 * "wasm": the pool. "webgpu": the GPU (throws when there is none or it disagrees with wasm).
 * "auto": the GPU only if it exists, agrees with wasm on a warm-up batch and encodes it faster;
 * the choice is remembered per model and adapter (localStorage), the agreement checked every time.
 */
export async function openDevicePool(encoder, wasmPool, { device = "auto", maxTokens = null } = {}) {
  if (!DEVICES.includes(device)) {
    throw new TypeError(`device must be one of ${DEVICES.join(", ")}, not ${JSON.stringify(device)}`);
  }
  const budget = tokenBudget(encoder, maxTokens);
  const onWasm = (reason) => new DevicePool(wasmPool, null, budget, { backend: "wasm", adapter: null, reason });
  if (device === "wasm") {
    return onWasm("asked for wasm");
  }
  let gpu;
  try {
    gpu = await openGpuEncoder(encoder);
  } catch (err) {
    if (device === "webgpu") {
      throw err;
    }
    return onWasm(err.message);
  }
  const adapter = await describeAdapter(gpu);
  try {
    const texts = WARMUP_TEXTS;
    const reference = encoder.encodeDocuments(texts);
    const first = await gpu.encodeDocuments(texts);
    const difference = vectorDifference(first, reference);
    if (!(difference <= AGREEMENT_TOLERANCE)) {
      throw new Error(`WebGPU results differ from wasm by ${difference} (tolerance ${AGREEMENT_TOLERANCE})`);
    }
    const key = `${STORAGE_PREFIX}${await encoder.fingerprint()}:${adapter.adapter}`;
    let choice = device === "webgpu" ? "webgpu" : remembered(key);
    let reason = choice ? `remembered for this model and adapter` : null;
    let gpuMs = null;
    let wasmMs = null;
    if (choice == null) {
      ({ gpuMs, wasmMs } = await raceWarmup(gpu, wasmPool));
      choice = gpuMs < wasmMs ? "webgpu" : "wasm";
      reason = `warm-up batch: WebGPU ${gpuMs.toFixed(1)} ms, wasm ${wasmMs.toFixed(1)} ms`;
      remember(key, choice);
    } else if (device === "webgpu") {
      reason = "asked for WebGPU";
    }
    if (choice !== "webgpu") {
      gpu.free();
      return new DevicePool(wasmPool, null, budget, { backend: "wasm", adapter, reason, gpuMs, wasmMs });
    }
    return new DevicePool(wasmPool, gpu, budget, { backend: "webgpu", adapter, reason, gpuMs, wasmMs });
  } catch (err) {
    gpu.free();
    if (device === "webgpu") {
      throw err;
    }
    return onWasm(err.message);
  }
}

/**
 * The wasm `EncoderPool` for `encoder` (`options` as `EncoderPool.create`), wrapped in the
 * `DevicePool` that `device` chooses; the workers are stopped if that choice fails.
 */
export async function openEncoderPool(encoder, { device = "auto", ...options } = {}) {
  const wasmPool = await EncoderPool.create(encoder, options);
  try {
    return await openDevicePool(encoder, wasmPool, { device, maxTokens: options.maxTokens ?? null });
  } catch (err) {
    wasmPool.terminate();
    throw err;
  }
}
