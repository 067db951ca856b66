// How many encoder workers a model can have: each worker holds its own wasm instance with the whole
// model (a doc-v3-gte-sized q8_0 pack takes about 305 MiB of wasm memory per instance), so a count
// per core would take gigabytes, and browser tabs die near 1.5 GB (WebKit, phones). The count comes
// from the memory one instance measured after building the model, the instance on the calling
// thread (the page's own encoder, for queries and highlights) and a budget.
// Measured after building, an instance already holds the model's bytes copied in next to the
// weights; that space is free again once the model is built, and encoding passages of the default
// budget (512 tokens) runs in it: a doc-v3-gte-sized q8_0 instance stays at 305 MiB while encoding.
// A passage budget of thousands of tokens needs more (an 8,192-token passage grows it further).

const MIB = 2 ** 20;

/** The budget when neither `memoryBudget` nor `navigator.deviceMemory` says otherwise: 1 GiB. */
export const DEFAULT_MEMORY_BUDGET = 1024 * MIB;

const mib = (bytes) => `${Math.round(bytes / MIB)} MiB`;

/**
 * The budget for wasm memory across the page's instance and its workers: `{bytes, source}`.
 * `memoryBudget` (bytes; Infinity turns the cap off) wins; else a quarter of `navigator.deviceMemory`
 * (GB, rounded down by the browser; Chromium only) up to the default; else the default.
 */
export function memoryBudget(memoryBudget = null, deviceMemory = globalThis.navigator?.deviceMemory) {
  if (memoryBudget != null) {
    if (typeof memoryBudget !== "number" || !(memoryBudget > 0)) {
      throw new RangeError(`memoryBudget must be a positive number of bytes (or Infinity), got ${memoryBudget}`);
    }
    return { bytes: memoryBudget, source: "memoryBudget" };
  }
  if (typeof deviceMemory === "number" && deviceMemory > 0) {
    // A quarter: the browser, the page's own heap and other tabs share the rest.
    return { bytes: Math.min(DEFAULT_MEMORY_BUDGET, (deviceMemory * 1024 * MIB) / 4), source: "deviceMemory", deviceMemory };
  }
  return { bytes: DEFAULT_MEMORY_BUDGET, source: "default" };
}

/**
 * The worker count for `requested` workers (at least one) whose instances each take `instanceBytes`,
 * next to `mainBytes` on the calling thread, within `budget` ({bytes, source}). Always at least one
 * worker: encoding on the page instead would not take less memory (its instance exists already), only
 * freeze it. Returns `{workers, requested, instanceBytes, mainBytes, budgetBytes, budgetSource, reason}`.
 */
export function planWorkers({ requested, instanceBytes, mainBytes, budget }) {
  const fit = Math.floor((budget.bytes - mainBytes) / Math.max(instanceBytes, 1));
  const workers = Math.max(1, Math.min(requested, fit));
  const budgetText =
    budget.source === "memoryBudget"
      ? `the memoryBudget of ${mib(budget.bytes)}`
      : budget.source === "deviceMemory"
        ? `a budget of ${mib(budget.bytes)} (a quarter of the device's ${budget.deviceMemory} GB, at most ${mib(DEFAULT_MEMORY_BUDGET)})`
        : `the default budget of ${mib(budget.bytes)}`;
  const each = `${mib(instanceBytes)} of wasm memory per worker` + (mainBytes > 0 ? ` and ${mib(mainBytes)} on the page` : "");
  let reason;
  if (workers >= requested) {
    reason = `${workers} of ${requested} workers asked for: ${each} fit ${budgetText}`;
  } else if (fit >= 1) {
    reason = `${workers} of ${requested} workers asked for: the model takes ${each}, and ${budgetText} holds no more`;
  } else {
    reason = `1 worker (the least there can be) of ${requested} asked for: the model takes ${each}, over ${budgetText}`;
  }
  return {
    workers,
    requested,
    instanceBytes,
    mainBytes,
    budgetBytes: budget.bytes,
    budgetSource: budget.source,
    totalBytes: mainBytes + workers * instanceBytes,
    reason,
  };
}
