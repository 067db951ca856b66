// The demo: private search over your own documents. Model from the Cache API or the network,
// encoding in a worker pool, index and documents in IndexedDB, search on every keystroke.
// This file composes the views (views/*.js), each wiring its own events, around the library's
// Search and ResumableIndexer. All document text is untrusted: it only reaches the page as text.
import { DEFAULT_CACHE_NAME, IndexStore, ResumableIndexer, StorageError, defaultWorkerCount } from "./pkg/index.js";
import { $, errorText, plural } from "./views/dom.js";
import { mountBrowse } from "./views/browse.js";
import { mountIndexing } from "./views/indexing.js";
import { mountLibrary } from "./views/library.js";
import { MODEL_KEY, mountModel } from "./views/model.js";
import { mountNotice } from "./views/notice.js";
import { mountResults } from "./views/results.js";
import { mountSources } from "./views/sources.js";

// The default model as one q8_0 pack (built by build.sh). `?model=URL` (same origin: a pack, or a
// folder ending in "/") loads another; `?workers=N` sets the most encoder workers.
const DEFAULT_MODEL = "models/splade-tiny-q8_0.gguf";
const SAMPLE_URL = "sample/sotu-sample.jsonl";
const SAMPLE_NAME = "sotu-sample.jsonl";
const SAMPLE_QUERIES = ["paying off the national debt", "railroads across the continent", "war with Mexico", "health insurance", "the gold standard"];
const params = new URLSearchParams(location.search);
const MODEL_URL = (() => {
  let remembered = null;
  try {
    remembered = localStorage.getItem(MODEL_KEY);
  } catch {
    // storage disabled: the default it is
  }
  const asked = params.get("model") ?? remembered;
  const url = asked ? new URL(asked, location.href) : null;
  return url && url.origin === location.origin ? url.href : new URL(DEFAULT_MODEL, location.href).href;
})();
const WORKERS = params.has("workers") ? Math.max(0, Number(params.get("workers")) | 0) : defaultWorkerCount();
// `?memory-budget=MiB`: wasm memory for the page and its workers (default: see the library's WorkerPlan).
const MEMORY_BUDGET = Number(params.get("memory-budget")) > 0 ? Number(params.get("memory-budget")) * 2 ** 20 : null;
// `?device=wasm|webgpu|auto`: where documents are encoded (auto: WebGPU when it is faster here).
const DEVICE = params.get("device") ?? "auto";

/** Test and debugging hooks: counters only, nothing that changes behaviour. */
const stats = { encodedPassages: 0, restoredDocuments: 0, checkpoints: 0, failedDocuments: 0 };
window.spladeDemo = { stats, ready: false };

/** What the views share: the search and its indexer, once the model is ready. */
const app = { search: null, indexer: null, persisted: null };

const notice = mountNotice();
const model = mountModel({ modelUrl: MODEL_URL, app });
const browse = mountBrowse({ app, notice });
const results = mountResults({ app, sampleName: SAMPLE_NAME, sampleQueries: SAMPLE_QUERIES, onOpen: browse.openDocument });
const indexing = mountIndexing({ app });
const library = mountLibrary({ app, notice, results });
const sources = mountSources({ app, notice, results, sampleUrl: SAMPLE_URL, sampleName: SAMPLE_NAME });

/** The buttons that add documents or change the index: usable once the model is ready. */
function setControlsEnabled(enabled) {
  for (const node of document.querySelectorAll("[data-action], #paste-add, #export, #import, #clear")) {
    node.disabled = !enabled;
  }
  sources.setEnabled(enabled);
}

/** Notices for what the indexer reports, and the test hooks' counters. */
function followIndexer(indexer) {
  for (const view of [indexing, library, results, browse]) {
    view.follow(indexer);
  }
  indexer.addEventListener("indexed", ({ detail }) => {
    for (const doc of detail.documents) {
      stats.encodedPassages += doc.passages.length;
    }
  });
  indexer.addEventListener("saved", () => {
    stats.checkpoints += 1;
  });
  indexer.addEventListener("done", ({ detail }) => {
    window.spladeDemo.lastRun = { ...detail, workers: app.search.workers, workerPlan: app.search.workerPlan };
  });
  indexer.addEventListener("failed", ({ detail }) => {
    stats.failedDocuments += detail.documents.length;
    const [first] = detail.documents;
    // Text only: titles and ids come from the user's documents.
    notice.show(`Not indexed (${plural(stats.failedDocuments, "document")} so far): “${first.title ?? first.id}”: ${first.reason}.`);
  });
  indexer.addEventListener("cancelled", ({ detail }) => {
    if (detail.dropped > 0) {
      notice.show(`Indexing cancelled: ${plural(detail.dropped, "document")} not added.`, "info");
    }
  });
  indexer.addEventListener("error", ({ detail: { error, during } }) => {
    if (during === "queue") {
      notice.show(`${errorText(error)} The documents will be indexed, but only for this visit.`);
    } else if (during === "save") {
      notice.show(
        error instanceof StorageError
          ? `Not saved: ${errorText(error)}`
          : `The index could not be saved in this browser: ${errorText(error)}`,
      );
    } else {
      notice.show(`Indexing stopped: ${errorText(error)}`);
    }
  });
}

async function openStore() {
  try {
    return { store: await IndexStore.open("splade-demo"), error: null };
  } catch (error) {
    return { store: null, error };
  }
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) {
    return false;
  }
  try {
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    return true;
  } catch {
    // Offline use is a bonus; the page works without it.
    return false;
  }
}

/** Whether the model is in the Cache API (it is put there only once it loaded). */
async function modelCached() {
  try {
    return (await (await caches.open(DEFAULT_CACHE_NAME)).match(MODEL_URL)) != null;
  } catch {
    return false;
  }
}

/** "Works offline" only when it does: the page cached by the service worker and the model by the page. */
async function showOffline(pageCached) {
  if (pageCached && (await modelCached())) {
    window.spladeDemo.offlineReady = true;
    $("offline").textContent = "Works offline: the page, the model and your index are kept in this browser.";
  }
}

/**
 * Asks the browser to keep this site's storage under storage pressure (otherwise it may evict the index
 * without asking). Browsers decide; the answer is shown with the library.
 */
async function requestPersistence() {
  try {
    return (await navigator.storage?.persist?.()) ?? null;
  } catch {
    return null;
  }
}

// ---------- start ----------

setControlsEnabled(false);
const offline = registerServiceWorker();
try {
  const [search, { store, error: storeError }] = await Promise.all([
    model.load({ workers: WORKERS, memoryBudget: MEMORY_BUDGET, device: DEVICE, onFromCache: (fromCache) => (window.spladeDemo.modelFromCache = fromCache) }),
    openStore(),
  ]);
  if (storeError) {
    notice.show(`${errorText(storeError)} The index will last only for this visit.`);
  }
  const indexer = new ResumableIndexer(search, { store });
  if (store) {
    app.persisted = await requestPersistence();
    window.spladeDemo.persisted = app.persisted;
  }
  if (search.workerFallback) {
    notice.show(`Encoder workers could not start (${search.workerFallback}): indexing runs on this page and will slow it down.`);
  }
  const restored = await indexer.restore();
  stats.restoredDocuments = restored.documents;
  if (restored.reindexing > 0) {
    const meanwhile = restored.documents > 0 ? " They stay searchable meanwhile." : "";
    notice.show(`The model has changed since your documents were indexed: indexing ${plural(restored.reindexing, "document")} again.${meanwhile}`, "info");
  } else if (restored.error) {
    notice.show(`The index saved in this browser could not be used (${errorText(restored.error)}). Add your documents again.`);
  }
  Object.assign(app, { search, indexer });
  followIndexer(indexer);
  setControlsEnabled(true);
  results.enable();
  if (restored.documents > 0) {
    results.setStatus(`Restored ${plural(restored.documents, "document")} from this browser.`);
  }
  indexing.render();
  library.render();
  results.render();
  if (restored.documents > 0) {
    results.setStatus(`Restored ${plural(restored.documents, "document")} from this browser. Type to search.`);
  }
  window.spladeDemo.ready = true;
  indexer.start();
  showOffline(await offline);
} catch (err) {
  model.setState("error", `The model could not be loaded: ${errorText(err)}`);
  results.unavailable(navigator.onLine === false);
  window.spladeDemo.error = errorText(err);
}
