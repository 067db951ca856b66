// A pool of module Web Workers, each with its own wasm instance (no SharedArrayBuffer, so no special
// server headers). Without workers (Node, or `size: 0`) the same work runs on the calling thread.
// How many workers a model gets is memory.js's call; a worker that traps is replaced, and its job is
// retried in halves until each failing document stands alone and is reported as failed.
import { encodeDocs, tokenBudget } from "./encode-docs.js";
import { memoryBudget, planWorkers } from "./memory.js";
import { abortError } from "./util.js";
import { wasmMemoryBytes, wasmModule } from "./wasm.js";

export const MAX_WORKERS = 4;

/** Workers to ask for by default: one per logical core, at most MAX_WORKERS; 0 where there are no workers. */
export function defaultWorkerCount() {
  if (typeof Worker === "undefined") {
    return 0;
  }
  const cores = (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 2;
  return Math.max(1, Math.min(MAX_WORKERS, cores));
}

// A worker that has not answered "ready" by then is taken as failed (a script a bundler left out can hang).
const WORKER_START_MS = 60_000;

function startWorker(workerUrl) {
  if (workerUrl != null) {
    return new Worker(workerUrl, { type: "module", name: "splade-encoder" });
  }
  // Written out literally so that bundlers (Vite, webpack 5, Parcel, esbuild) see the worker and emit
  // it as a chunk with its imports; a URL held in a variable would be copied raw or inlined.
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "splade-encoder" });
}

/**
 * The model's bytes for one worker: a copy that is transferred, not cloned, so that it exists once,
 * in the worker, until the worker has built its model and lets it go.
 */
function sourceForWorker(source) {
  if (source.kind === "pack") {
    const bytes = source.bytes.slice();
    return { source: { kind: "pack", bytes }, transfer: [bytes.buffer] };
  }
  const files = Object.fromEntries(Object.entries(source.files).map(([path, bytes]) => [path, bytes.slice()]));
  return { source: { kind: "files", files }, transfer: Object.values(files).map((b) => b.buffer) };
}

/** A document's encoding failed in a worker (or on the calling thread); `trapped`: the instance trapped. */
class EncodeFailure extends Error {
  constructor(message, trapped) {
    super(message);
    this.trapped = trapped;
  }
}

class WorkerSlot {
  constructor(workerUrl) {
    this.worker = startWorker(workerUrl);
    this.busy = null; // the task in flight: {docs, mode, resolve, reject}
    this.peakBytes = 0; // its wasm memory, as last reported (wasm memory only grows)
  }
}

export class EncoderPool {
  #slots = [];
  #queue = [];
  #nextJob = 1;
  #closed = false;
  #inline = null;
  #error = null;
  #init = null; // what starts a worker: {workerUrl, module, source, maxTokens, testHooks}
  #replacing = 0;

  /**
   * Starts up to `size` workers (default: `defaultWorkerCount()`), each building the encoder's model:
   * the first one measures what an instance takes, and `plan` says how many fit `memoryBudget`
   * (bytes; see memory.js). `maxTokens` caps passages (tokens, specials included; default: min(the
   * model's maximum, 512)). `testHooks` ({trapOn}) are for the pool's own tests.
   */
  static async create(encoder, { size = defaultWorkerCount(), maxTokens = null, workerUrl = null, fallback = true, memoryBudget: budgetOption = null, testHooks = null } = {}) {
    memoryBudget(budgetOption); // a bad option is the caller's error, not a reason to fall back
    const pool = new EncoderPool();
    try {
      await pool.#start(encoder, size, { maxTokens, workerUrl, memoryBudget: budgetOption, testHooks });
    } catch (err) {
      if (!fallback || size <= 0) {
        throw err;
      }
      // A browser without module workers, or a worker script a bundler or server did not deliver:
      // encode on this thread, loudly, since every keystroke and every batch now competes with the page.
      console.error(
        `splade-wasm: ${err.message}; encoding on the calling thread instead (the page will be slow while indexing). ` +
          "Pass createSearch({workerUrl}) pointing at the package's worker.js if a bundler moved it.",
      );
      const inline = new EncoderPool();
      await inline.#start(encoder, 0, { maxTokens, testHooks });
      inline.fallbackReason = err.message;
      return inline;
    }
    return pool;
  }

  /** Why the pool runs on the calling thread although workers were asked for (null if it does not). */
  fallbackReason = null;

  /**
   * How the worker count was chosen: `{workers, requested, instanceBytes, mainBytes, budgetBytes,
   * budgetSource, totalBytes, reason}` (memory.js); `reason` is a sentence worth showing.
   */
  plan = null;

  /** Workers replaced after their wasm instance trapped or the worker died. */
  replaced = 0;

  async #start(encoder, size, { maxTokens, workerUrl = null, memoryBudget: budgetOption = null, testHooks = null }) {
    const budget = memoryBudget(budgetOption);
    if (size <= 0 || typeof Worker === "undefined") {
      this.#inline = { encoder, budget: tokenBudget(encoder, maxTokens), testHooks };
      const mainBytes = wasmMemoryBytes();
      this.plan = {
        workers: 0,
        requested: Math.max(0, size),
        instanceBytes: mainBytes,
        mainBytes,
        budgetBytes: budget.bytes,
        budgetSource: budget.source,
        totalBytes: mainBytes,
        reason: typeof Worker === "undefined" ? "no workers here: encoding on the calling thread" : "0 workers asked for: encoding on the calling thread",
      };
      return;
    }
    this.#init = { workerUrl, module: await wasmModule(), source: encoder.source, maxTokens, testHooks };
    try {
      // One at a time: the first measures an instance, and each start holds a copy of the model's bytes.
      const first = await this.#startSlot();
      this.plan = planWorkers({ requested: size, instanceBytes: first.peakBytes, mainBytes: wasmMemoryBytes(), budget });
      while (this.#slots.length < this.plan.workers) {
        await this.#startSlot();
      }
    } catch (err) {
      this.terminate();
      throw err;
    }
  }

  /** Starts a worker, waits for its model, and adds it to the pool; resolves to its slot. */
  async #startSlot() {
    const { workerUrl, module, source, maxTokens, testHooks } = this.#init;
    const slot = new WorkerSlot(workerUrl);
    const ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`an encoder worker did not start within ${WORKER_START_MS / 1000} s`)), WORKER_START_MS);
      const settle = (fn) => (arg) => {
        clearTimeout(timer);
        fn(arg);
      };
      resolve = settle(resolve);
      reject = settle(reject);
      slot.worker.onmessage = ({ data }) => (data.type === "ready" ? resolve(data) : reject(new Error(`an encoder worker failed to start: ${data.message}`)));
      slot.worker.onerror = (event) => {
        event.preventDefault?.();
        reject(new Error(`an encoder worker failed to start: ${event.message || "script error"}`));
      };
      const copy = sourceForWorker(source);
      slot.worker.postMessage({ type: "init", module, source: copy.source, maxTokens, testHooks }, copy.transfer);
    }).catch((err) => {
      slot.worker.terminate();
      throw err;
    });
    if (this.#closed) {
      slot.worker.terminate();
      throw new Error("the encoder pool was closed");
    }
    slot.peakBytes = ready.memoryBytes ?? 0;
    slot.worker.onmessage = ({ data }) => this.#done(slot, data);
    slot.worker.onerror = (event) => {
      event.preventDefault?.();
      this.#lost(slot, slot.busy, new EncodeFailure(`an encoder worker crashed: ${event.message || "script error"}`, true));
    };
    this.#slots.push(slot);
    return slot;
  }

  /** Workers in the pool (0 when the work runs on the calling thread). */
  get size() {
    return this.#slots.length;
  }

  /** Jobs that can usefully be in flight at once. */
  get concurrency() {
    return Math.max(1, (this.plan?.workers ?? 0) * 2);
  }

  /**
   * Wasm memory now: `{workers: [bytes per worker], mainBytes, totalBytes}` (each instance's memory
   * only grows, so these are also the peaks).
   */
  get memory() {
    const workers = this.#slots.map((s) => s.peakBytes);
    const mainBytes = wasmMemoryBytes();
    return { workers, mainBytes, totalBytes: workers.reduce((a, b) => a + b, mainBytes) };
  }

  /**
   * Splits and encodes `docs` (`[{key, text}]`): resolves to `{results: [{key, passages: [{start, end,
   * indices, values}]} or {key, error}], passages, ms}`. `mode` "passages" encodes each text as one
   * passage; "split" only splits (no vectors). A document whose encoding fails (its job is retried in
   * halves, a lone document once) comes back with `error`, the reason, instead of passages.
   */
  encode(docs, { mode = "docs" } = {}) {
    if (this.#closed) {
      return Promise.reject(new Error("the encoder pool was closed"));
    }
    if (this.#error) {
      return Promise.reject(this.#error);
    }
    return this.#run(docs, mode, false);
  }

  async #run(docs, mode, retried) {
    try {
      return await this.#attempt(docs, mode, retried);
    } catch (err) {
      if (!(err instanceof EncodeFailure)) {
        throw err;
      }
      if (docs.length > 1) {
        const half = Math.ceil(docs.length / 2);
        const parts = await Promise.all([this.#run(docs.slice(0, half), mode, true), this.#run(docs.slice(half), mode, true)]);
        return {
          results: parts.flatMap((p) => p.results),
          passages: parts[0].passages + parts[1].passages,
          ms: parts[0].ms + parts[1].ms,
        };
      }
      if (!retried) {
        return this.#run(docs, mode, true);
      }
      return { results: [{ key: docs[0].key, error: err.message }], passages: 0, ms: 0 };
    }
  }

  #attempt(docs, mode, retry) {
    if (this.#inline) {
      const { encoder, budget, testHooks } = this.#inline;
      return new Promise((resolve, reject) => {
        // A macrotask per job, so a caller's progress updates and abort checks run in between.
        setTimeout(() => {
          try {
            const started = performance.now();
            const out = encodeDocs(encoder, budget, docs, mode, testHooks);
            resolve({ ...out, ms: performance.now() - started });
          } catch (err) {
            reject(new EncodeFailure(err instanceof Error ? err.message : String(err), err instanceof WebAssembly.RuntimeError));
          }
        }, 0);
      });
    }
    return new Promise((resolve, reject) => {
      if (this.#error) {
        reject(this.#error);
        return;
      }
      // Retries go first: their documents were taken from the queue before the others.
      const task = { job: this.#nextJob++, docs, mode, resolve, reject };
      if (retry) {
        this.#queue.unshift(task);
      } else {
        this.#queue.push(task);
      }
      this.#pump();
    });
  }

  #pump() {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) {
        return;
      }
      if (slot.busy == null) {
        const task = this.#queue.shift();
        slot.busy = task;
        slot.worker.postMessage({ type: "encode", job: task.job, docs: task.docs, mode: task.mode });
      }
    }
  }

  #done(slot, data) {
    const task = slot.busy;
    slot.busy = null;
    slot.peakBytes = Math.max(slot.peakBytes, data.memoryBytes ?? 0);
    if (data.type === "encoded") {
      task?.resolve({ results: data.results, passages: data.passages, ms: data.ms });
    } else if (data.trapped) {
      this.#lost(slot, task, new EncodeFailure(`the encoder's WebAssembly instance trapped (${data.message})`, true));
      return;
    } else {
      task?.reject(new EncodeFailure(data.message ?? "encoding failed", false));
    }
    this.#pump();
  }

  /** A worker trapped or died: its task fails (to be retried), and a fresh worker takes its place. */
  #lost(slot, task, failure) {
    slot.busy = null;
    slot.worker.terminate();
    this.#slots = this.#slots.filter((s) => s !== slot);
    this.replaced += 1;
    this.#replacing += 1;
    this.#startSlot()
      .catch((err) => {
        // Without workers left, queued jobs would wait for ever: fail them, and every later one.
        if (this.#slots.length === 0 && this.#replacing === 1 && !this.#closed) {
          this.#error = new Error(`no encoder worker left: ${err.message}`);
          this.clearQueue(this.#error);
        }
      })
      .finally(() => {
        this.#replacing -= 1;
        this.#pump();
      });
    task?.reject(failure);
    this.#pump();
  }

  /** Drops queued jobs (jobs already in a worker still finish and resolve). */
  clearQueue(reason = abortError("Indexing was stopped")) {
    const queued = this.#queue;
    this.#queue = [];
    for (const task of queued) {
      task.reject(reason);
    }
  }

  terminate() {
    this.#closed = true;
    this.clearQueue(new Error("the encoder pool was closed"));
    for (const slot of this.#slots) {
      slot.worker.terminate();
      slot.busy?.reject(new Error("the encoder pool was closed"));
      slot.busy = null;
    }
    this.#slots = [];
  }
}
