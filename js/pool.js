// A pool of module Web Workers, each with its own wasm instance (no SharedArrayBuffer, so no special
// server headers). Without workers (Node, or `size: 0`) the same work runs on the calling thread.
import { encodeDocs, tokenBudget } from "./encode-docs.js";
import { abortError } from "./util.js";
import { wasmModule } from "./wasm.js";

export const MAX_WORKERS = 4;

/** Workers to start by default: one per logical core, at most MAX_WORKERS; 0 where there are no workers. */
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

class WorkerSlot {
  constructor(workerUrl) {
    this.worker = startWorker(workerUrl);
    this.busy = null; // {resolve, reject} of the job in flight
  }
}

export class EncoderPool {
  #slots = [];
  #queue = [];
  #nextJob = 1;
  #closed = false;
  #inline = null;
  #error = null;

  /**
   * Starts `size` workers (default: `defaultWorkerCount()`), each building the encoder's model.
   * `maxTokens` caps passages (tokens, specials included; default: min(the model's maximum, 512)).
   */
  static async create(encoder, { size = defaultWorkerCount(), maxTokens = null, workerUrl = null, fallback = true } = {}) {
    const pool = new EncoderPool();
    try {
      await pool.#start(encoder, size, maxTokens, workerUrl);
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
      await inline.#start(encoder, 0, maxTokens, null);
      inline.fallbackReason = err.message;
      return inline;
    }
    return pool;
  }

  /** Why the pool runs on the calling thread although workers were asked for (null if it does not). */
  fallbackReason = null;

  async #start(encoder, size, maxTokens, workerUrl) {
    if (size <= 0 || typeof Worker === "undefined") {
      this.#inline = { encoder, budget: tokenBudget(encoder, maxTokens) };
      return;
    }
    const module = await wasmModule();
    const source = encoder.source;
    await Promise.all(
      Array.from({ length: size }, async () => {
        const slot = new WorkerSlot(workerUrl);
        this.#slots.push(slot);
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`an encoder worker did not start within ${WORKER_START_MS / 1000} s`)), WORKER_START_MS);
          const settle = (fn) => (arg) => {
            clearTimeout(timer);
            fn(arg);
          };
          resolve = settle(resolve);
          reject = settle(reject);
          slot.worker.onmessage = ({ data }) => {
            if (data.type === "ready") {
              resolve();
            } else {
              reject(new Error(`an encoder worker failed to start: ${data.message}`));
            }
          };
          slot.worker.onerror = (event) => {
            event.preventDefault?.();
            reject(new Error(`an encoder worker failed to start: ${event.message || "script error"}`));
          };
          slot.worker.postMessage({ type: "init", module, source, maxTokens });
        });
        slot.worker.onmessage = ({ data }) => this.#done(slot, data);
        slot.worker.onerror = (event) => {
          event.preventDefault?.();
          this.#fail(slot, new Error(`an encoder worker crashed: ${event.message || "script error"}`));
        };
      }),
    ).catch((err) => {
      this.terminate();
      throw err;
    });
  }

  /** Workers in the pool (0 when the work runs on the calling thread). */
  get size() {
    return this.#slots.length;
  }

  /** Jobs that can usefully be in flight at once. */
  get concurrency() {
    return Math.max(1, this.#slots.length * 2);
  }

  /**
   * Splits and encodes `docs` (`[{key, text}]`): resolves to `{results: [{key, passages: [{start, end,
   * indices, values}]}], passages, ms}`. `mode` "passages" encodes each text as one passage; "split"
   * only splits (no vectors).
   */
  encode(docs, { mode = "docs" } = {}) {
    if (this.#closed) {
      return Promise.reject(new Error("the encoder pool was closed"));
    }
    if (this.#error) {
      return Promise.reject(this.#error);
    }
    if (this.#inline) {
      return new Promise((resolve, reject) => {
        // A macrotask per job, so a caller's progress updates and abort checks run in between.
        setTimeout(() => {
          try {
            const started = performance.now();
            const out = encodeDocs(this.#inline.encoder, this.#inline.budget, docs, mode);
            resolve({ ...out, ms: performance.now() - started });
          } catch (err) {
            reject(err);
          }
        }, 0);
      });
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ job: this.#nextJob++, docs, mode, resolve, reject });
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
    if (task) {
      if (data.type === "encoded") {
        task.resolve({ results: data.results, passages: data.passages, ms: data.ms });
      } else {
        task.reject(new Error(data.message ?? "encoding failed"));
      }
    }
    this.#pump();
  }

  #fail(slot, err) {
    this.#error = err;
    const pending = [slot.busy, ...this.#queue].filter(Boolean);
    slot.busy = null;
    this.#queue = [];
    for (const task of pending) {
      task.reject(err);
    }
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
