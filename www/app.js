// The demo: private search over your own documents. Model from the Cache API or the network,
// encoding in a worker pool, index and documents in IndexedDB, search on every keystroke.
// All document text is untrusted: it only ever reaches the page through textContent.
import {
  IndexStore,
  Search,
  SearchFileError,
  SparseEncoder,
  StorageError,
  createSearch,
  defaultWorkerCount,
  documentsFromFiles,
  documentsFromText,
  filesFromDataTransfer,
} from "./pkg/index.js";

// The default model as one q8_0 pack (built by build.sh). `?model=URL` (same origin: a pack, or a
// folder ending in "/") loads another; `?workers=N` sets the number of encoder workers.
const DEFAULT_MODEL = "models/splade-tiny-q8_0.gguf";
const SAMPLE_URL = "sample/sotu-sample.jsonl";
const SAMPLE_NAME = "sotu-sample.jsonl";
const RESULTS = 10;
const SAMPLE_QUERIES = ["paying off the national debt", "railroads across the continent", "war with Mexico", "health insurance", "the gold standard"];
const params = new URLSearchParams(location.search);
const MODEL_KEY = "splade-demo-model"; // localStorage: the model picked in the footer
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

const $ = (id) => document.getElementById(id);
const els = {
  model: $("model"),
  modelText: $("model-text"),
  modelProgress: $("model-progress"),
  modelRetry: $("model-retry"),
  query: $("query"),
  searchStatus: $("search-status"),
  empty: $("empty"),
  placeholder: $("placeholder"),
  placeholderHeading: $("placeholder-heading"),
  placeholderText: $("placeholder-text"),
  placeholderRetry: $("placeholder-retry"),
  tips: $("tips"),
  suggestions: $("suggestions"),
  results: $("results"),
  summary: $("library-summary"),
  dropzone: $("dropzone"),
  fileInput: $("file-input"),
  folderInput: $("folder-input"),
  pasteTitle: $("paste-title"),
  pasteText: $("paste-text"),
  pasteAdd: $("paste-add"),
  paste: $("paste"),
  indexing: $("indexing"),
  indexingProgress: $("indexing-progress"),
  indexingText: $("indexing-text"),
  pause: $("indexing-pause"),
  resume: $("indexing-resume"),
  cancel: $("indexing-cancel"),
  notice: $("notice"),
  noticeText: $("notice-text"),
  noticeClose: $("notice-close"),
  exportBtn: $("export"),
  importBtn: $("import"),
  importInput: $("import-input"),
  clear: $("clear"),
  modelInfo: $("model-info"),
  modelSelect: $("model-select"),
  offline: $("offline"),
};

/** Test and debugging hooks: counters only, nothing that changes behaviour. */
const stats = { encodedPassages: 0, restoredDocuments: 0, checkpoints: 0 };
window.spladeDemo = { stats, ready: false };

let search = null;
let store = null;
let storeError = null;
let run = null; // the indexing run in progress: {controller, reason, total, done, started, passages}
let pending = []; // documents waiting to be indexed (also in IndexedDB)
let paused = false;
let doneIds = [];
let lastSave = 0;
let saveInterval = 2000;
let saving = null;
let refreshTimer = null;

// ---------- small helpers ----------

function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text != null) {
    node.textContent = text;
  }
  return node;
}

function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) {
    return "";
  }
  if (seconds < 60) {
    return `${Math.max(1, Math.round(seconds))} s`;
  }
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

function showNotice(message, kind = "error") {
  els.notice.hidden = false;
  els.notice.dataset.kind = kind;
  els.noticeText.textContent = message;
}

function hideNotice() {
  els.notice.hidden = true;
}

function setModelState(state, text, progress = null) {
  els.model.dataset.state = state;
  els.modelText.textContent = text;
  if (progress == null) {
    els.modelProgress.hidden = state !== "loading";
    els.modelProgress.removeAttribute("value"); // indeterminate
  } else {
    els.modelProgress.hidden = false;
    els.modelProgress.value = progress;
  }
  els.modelRetry.hidden = state !== "error";
}

function setPlaceholder(heading, text, { retry = false } = {}) {
  els.placeholder.hidden = heading == null;
  if (heading != null) {
    els.placeholderHeading.textContent = heading;
    els.placeholderText.textContent = text;
    els.placeholderRetry.hidden = !retry;
  }
}

/** The buttons that add documents or change the index: usable once the model is ready. */
function setControlsEnabled(enabled) {
  for (const node of document.querySelectorAll("[data-action], #paste-add, #export, #import, #clear")) {
    node.disabled = !enabled;
  }
  els.dropzone.setAttribute("aria-disabled", String(!enabled));
  els.dropzone.tabIndex = enabled ? 0 : -1;
}

// ---------- model ----------

async function loadModel() {
  setModelState("loading", "Loading the model…");
  const started = performance.now();
  const encoder = await SparseEncoder.load(MODEL_URL, {
    onProgress: ({ loaded, total, fromCache }) => {
      window.spladeDemo.modelFromCache = fromCache;
      if (fromCache) {
        setModelState("loading", "Loading the model from this browser’s storage…", total ? loaded / total : null);
      } else if (total) {
        setModelState("loading", `Downloading the model… ${megabytes(loaded)} of ${megabytes(total)}`, loaded / total);
      } else {
        setModelState("loading", `Downloading the model… ${megabytes(loaded)}`);
      }
    },
  });
  setModelState("loading", WORKERS > 0 ? `Starting ${plural(WORKERS, "encoder worker")}…` : "Starting the encoder…");
  search = await createSearch({ model: encoder, workers: WORKERS });
  const info = encoder.info();
  const pack = await encoder.packInfo();
  const ms = Math.round(performance.now() - started);
  setModelState("ready", `Model ready in ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`);
  els.modelInfo.textContent =
    `Loaded: ${pack ? `the ${pack.dtype} pack of ${pack.source} (${megabytes(pack.fileBytes)}), ` : "a model folder, "}` +
    `${info.architecture}, ${info.layers} layers, hidden size ${info.hiddenSize}, ${info.vocabSize.toLocaleString("en-US")}-token vocabulary; ` +
    `passages up to ${info.maxDocumentTokens} tokens; ` +
    (search.workers > 0 ? `${plural(search.workers, "encoder worker")}.` : "encoding on the page.");
}

// ---------- persistence ----------

async function openStore() {
  try {
    store = await IndexStore.open("splade-demo");
  } catch (err) {
    storeError = err;
    store = null;
  }
}

async function restore() {
  if (!store) {
    return;
  }
  const bytes = await store.loadState();
  let reindex = [];
  if (bytes) {
    try {
      const { documents } = await search.load(bytes);
      stats.restoredDocuments = documents;
    } catch (err) {
      if (err instanceof SearchFileError && err.otherModel) {
        // The model changed since the index was built: its vectors are useless, its documents are not.
        reindex = await Search.documentsInFile(bytes);
        showNotice(`The model has changed since your documents were indexed: indexing ${plural(reindex.length, "document")} again.`, "info");
      } else {
        showNotice(`The index saved in this browser could not be used (${errorText(err)}). Add your documents again.`);
      }
    }
  }
  pending = await store.queued();
  paused = (await store.getSetting("paused")) === true;
  if (reindex.length > 0) {
    const queued = new Set(pending.map((d) => d.id));
    const again = reindex.filter((d) => !queued.has(d.id));
    await store.enqueue(again).catch(() => {});
    await store.setSetting("paused", false).catch(() => {});
    pending = again.concat(pending);
    paused = false;
  }
}

/** Saves the index (and drops indexed documents from the saved queue); at most every `saveInterval` ms unless forced. */
async function checkpoint(force = false) {
  if (!store) {
    return;
  }
  if (saving) {
    if (!force) {
      return;
    }
    while (saving) {
      await saving;
    }
  }
  if (!force && performance.now() - lastSave < saveInterval) {
    return;
  }
  saving = (async () => {
    const ids = doneIds;
    doneIds = [];
    const started = performance.now();
    try {
      const bytes = await search.save();
      await store.saveState(bytes, ids);
      stats.checkpoints += 1;
      storeError = null;
      const took = performance.now() - started;
      saveInterval = Math.min(30_000, Math.max(2000, 20 * took));
    } catch (err) {
      doneIds = ids.concat(doneIds);
      storeError = err;
      showNotice(
        err instanceof StorageError
          ? `Not saved: ${errorText(err)}`
          : `The index could not be saved in this browser: ${errorText(err)}`,
      );
    } finally {
      lastSave = performance.now();
      saving = null;
      renderSummary();
    }
  })();
  await saving;
}

// ---------- indexing ----------

async function addDocuments(docs, { label = null, notice = null } = {}) {
  if (!search) {
    return;
  }
  if (docs.length === 0) {
    showNotice("Nothing to add: no text found.", "info");
    return;
  }
  hideNotice();
  if (notice) {
    showNotice(notice, "info");
  }
  if (store) {
    try {
      await store.enqueue(docs);
    } catch (err) {
      showNotice(`${errorText(err)} The documents will be indexed, but only for this visit.`);
    }
  }
  pending.push(...docs);
  if (label) {
    els.searchStatus.textContent = label;
  }
  if (paused) {
    paused = false;
    await store?.setSetting("paused", false).catch(() => {});
  }
  await startIndexing();
}

async function startIndexing() {
  if (run) {
    // Fold the new documents into the run in progress: stop it after its batches in flight and go on.
    run.reason = "restart";
    run.controller.abort();
    return;
  }
  if (pending.length === 0 || paused) {
    renderIndexing();
    return;
  }
  const docs = pending;
  pending = [];
  run = {
    controller: new AbortController(),
    reason: null,
    total: docs.length,
    done: 0,
    passages: 0,
    started: performance.now(),
    rate: 0,
  };
  renderAll();
  const current = run;
  try {
    await search.add(docs, {
      signal: current.controller.signal,
      onProgress: (p) => {
        current.done = p.done;
        current.rate = p.docsPerSecond;
        current.eta = p.etaSeconds;
        renderIndexing();
      },
      onIndexed: (batch) => {
        for (const doc of batch) {
          doneIds.push(doc.id);
          stats.encodedPassages += doc.passages.length;
          current.passages += doc.passages.length;
        }
        scheduleRefresh();
        checkpoint(false);
      },
    });
    run = null;
    await checkpoint(true);
    const seconds = (performance.now() - current.started) / 1000;
    els.searchStatus.textContent = `Indexed ${plural(current.total, "document")} (${plural(current.passages, "passage")}) in ${duration(seconds)}.`;
    window.spladeDemo.lastRun = { documents: current.total, passages: current.passages, seconds, workers: search.workers };
  } catch (err) {
    run = null;
    const remaining = err?.remaining ?? [];
    if (err?.name === "AbortError") {
      pending = remaining.concat(pending);
      if (current.reason === "cancel") {
        if (pending.length > 0 && !stopping) {
          showNotice(`Indexing cancelled: ${plural(pending.length, "document")} not added.`, "info");
        }
        pending = [];
        await store?.clearQueue().catch(() => {});
      } else if (current.reason === "pause") {
        paused = true;
        await store?.setSetting("paused", true).catch(() => {});
      }
      await checkpoint(true);
    } else {
      pending = docs.filter((d) => !search.has(d.id)).concat(pending);
      paused = true;
      await checkpoint(true);
      showNotice(`Indexing stopped: ${errorText(err)}`);
    }
  }
  renderAll();
  if (pending.length > 0 && !paused) {
    await startIndexing();
  }
}

function renderIndexing() {
  const active = run != null;
  const left = pending.length;
  els.indexing.hidden = !active && left === 0;
  els.indexing.dataset.state = active ? "running" : paused ? "paused" : "idle";
  els.pause.hidden = !active;
  els.resume.hidden = active || left === 0;
  els.cancel.hidden = !active && left === 0;
  if (active) {
    const total = run.total + left;
    els.indexingProgress.max = Math.max(total, 1);
    els.indexingProgress.value = run.done;
    const parts = [`${run.done.toLocaleString("en-US")} of ${plural(total, "document")}`];
    if (run.rate > 0) {
      parts.push(`${run.rate >= 10 ? Math.round(run.rate) : run.rate.toFixed(1)} docs/s`);
    }
    if (run.eta != null && run.done > 0) {
      parts.push(`about ${duration(run.eta + left / Math.max(run.rate, 1e-9))} left`);
    }
    parts.push(search.workers > 0 ? plural(search.workers, "worker") : "on the page");
    els.indexingText.textContent = parts.join(" · ");
  }
  els.indexingProgress.hidden = !active;
  if (!active && left > 0) {
    els.indexingText.textContent = `Paused: ${plural(left, "document")} still to index. They are saved; resume any time, even after a reload.`;
  }
}

function pauseIndexing() {
  if (run) {
    run.reason = "pause";
    run.controller.abort();
    els.indexingText.textContent = "Pausing after the batches in progress…";
  }
}

async function resumeIndexing() {
  paused = false;
  await store?.setSetting("paused", false).catch(() => {});
  await startIndexing();
}

async function cancelIndexing() {
  if (run) {
    run.reason = "cancel";
    run.controller.abort();
    els.indexingText.textContent = "Stopping…";
    return;
  }
  pending = [];
  paused = false;
  await store?.clearQueue().catch(() => {});
  await store?.setSetting("paused", false).catch(() => {});
  renderAll();
}

/** Waits for the run in progress (if any) to stop, without keeping what it had left. */
let stopping = false;
async function stopIndexing() {
  pending = [];
  paused = false;
  if (run) {
    const current = run;
    current.reason = "cancel";
    current.controller.abort();
    stopping = true;
    while (run === current) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stopping = false;
  }
}

// ---------- search ----------

function scheduleRefresh() {
  if (refreshTimer == null) {
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      renderSummary();
      renderSearch();
    }, 400);
  }
}

function appendHighlighted(parent, text, ranges) {
  let at = 0;
  for (const [s, e] of ranges) {
    if (s > at) {
      parent.append(document.createTextNode(text.slice(at, s)));
    }
    parent.append(el("mark", null, text.slice(s, e)));
    at = e;
  }
  if (at < text.length) {
    parent.append(document.createTextNode(text.slice(at)));
  }
}

function fillExplanation(container, result, query) {
  const { terms } = search.explain(result.id, query, { passage: result.passage.index });
  container.replaceChildren();
  if (terms.length === 0) {
    container.append(el("p", "muted", "No query term appears in this passage’s vector."));
    return;
  }
  const table = el("table", "why-table");
  const caption = el("caption", null, "Each query token’s weight × the passage’s weight for it; the sum is the score.");
  const head = el("thead");
  const headRow = el("tr");
  for (const h of ["Token", "Query", "Passage", "Contribution"]) {
    const th = el("th", null, h);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = el("tbody");
  const max = terms[0].contribution || 1;
  for (const t of terms) {
    const row = el("tr");
    const tokenCell = el("td", "token");
    tokenCell.append(el("code", null, t.token));
    if (t.expansion) {
      const badge = el("span", "badge", "expansion");
      badge.title = "The passage does not contain this token: the model added it as a related term.";
      tokenCell.append(" ", badge);
    }
    const bar = el("span", "bar");
    bar.style.setProperty("--w", `${Math.max(2, Math.round((100 * t.contribution) / max))}%`);
    const contribution = el("td", "num");
    contribution.append(bar, el("span", null, t.contribution.toFixed(2)));
    row.append(tokenCell, el("td", "num", t.queryWeight.toFixed(2)), el("td", "num", t.documentWeight.toFixed(2)), contribution);
    body.append(row);
  }
  table.append(caption, head, body);
  container.append(table);
  const expansions = terms.filter((t) => t.expansion).length;
  if (expansions > 0) {
    container.append(
      el("p", "muted small-text", `${plural(expansions, "term")} marked “expansion” matched although the passage never uses the word.`),
    );
  }
}

function renderResult(result, query, rank) {
  const doc = search.get(result.id);
  const item = el("li", "result");
  item.dataset.id = result.id;
  item.dataset.score = String(result.score);

  const head = el("div", "result-head");
  const title = el("h3", "result-title", result.title ?? result.id);
  const score = el("span", "score", result.score.toFixed(2));
  score.title = "Score: the sparse dot product of the query and the best passage";
  head.append(el("span", "rank", `${rank}.`), title, score);

  const metaParts = [];
  if (doc.source && doc.source !== (result.title ?? "")) {
    metaParts.push(doc.source);
  }
  if (doc.passages.length > 1) {
    metaParts.push(`passage ${result.passage.index + 1} of ${doc.passages.length}`);
  }
  if (result.matchingPassages > 1) {
    metaParts.push(`${result.matchingPassages} passages match`);
  }
  const meta = el("p", "result-meta", metaParts.join(" · "));

  const snippet = search.snippet(result.id, query, { passage: result.passage.index });
  const text = el("p", "snippet");
  if (snippet.clippedStart) {
    text.append("… ");
  }
  appendHighlighted(text, snippet.text, snippet.highlights);
  if (snippet.clippedEnd) {
    text.append(" …");
  }

  const why = el("details", "why");
  why.append(el("summary", null, "Why this result"));
  const whyBody = el("div", "why-body");
  why.append(whyBody);
  why.addEventListener("toggle", () => {
    if (why.open && !whyBody.hasChildNodes()) {
      fillExplanation(whyBody, result, query);
    }
  });

  item.append(head);
  if (metaParts.length > 0) {
    item.append(meta);
  }
  item.append(text, why);
  return item;
}

function renderNoResults(query) {
  const item = el("li", "no-results");
  item.append(el("p", "no-results-title", `No document matches “${query.trim()}”.`));
  const terms = search.queryTerms(query);
  if (terms.length > 0) {
    const p = el("p", "muted", "Searched for the tokens ");
    terms.slice(0, 12).forEach((t, i) => {
      if (i > 0) {
        p.append(", ");
      }
      p.append(el("code", null, t.token));
    });
    p.append(". Try other words, or add documents that contain them.");
    item.append(p);
  }
  return item;
}

function renderSearch() {
  if (!search) {
    return;
  }
  const query = els.query.value;
  const indexed = search.size;
  const busy = run != null;
  const waiting = pending.length > 0;
  els.empty.hidden = indexed > 0 || busy || waiting;
  els.tips.hidden = true;
  if (indexed === 0) {
    els.results.replaceChildren();
    if (busy) {
      setPlaceholder("Indexing your documents…", "Results appear here as soon as the first documents are indexed.");
    } else if (waiting) {
      setPlaceholder("Indexing is paused", "Resume indexing (on the right) to search these documents.");
    } else {
      setPlaceholder(null);
    }
    els.searchStatus.textContent = "";
    return;
  }
  setPlaceholder(null);
  if (query.trim() === "") {
    els.results.replaceChildren();
    els.tips.hidden = false;
    const hasSample = search.documents().some((d) => d.id.startsWith(`${SAMPLE_NAME}/`));
    els.suggestions.hidden = !hasSample;
    if (hasSample && els.suggestions.childElementCount === 1) {
      for (const q of SAMPLE_QUERIES) {
        const b = el("button", "chip", q);
        b.type = "button";
        b.addEventListener("click", () => {
          els.query.value = q;
          els.query.focus();
          renderSearch();
        });
        els.suggestions.append(b);
      }
    }
    if (!/^Restored|^Indexed/.test(els.searchStatus.textContent)) {
      els.searchStatus.textContent = `Type to search ${plural(indexed, "document")}.${busy ? " Indexing continues in the background." : ""}`;
    }
    return;
  }
  let results;
  const started = performance.now();
  try {
    results = search.search(query, { k: RESULTS });
  } catch (err) {
    els.results.replaceChildren();
    els.searchStatus.textContent = `Search failed: ${errorText(err)}`;
    return;
  }
  const ms = performance.now() - started;
  if (results.length === 0) {
    els.results.replaceChildren(renderNoResults(query));
    els.searchStatus.textContent = `No results${busy ? " yet (indexing continues)" : ""}.`;
    return;
  }
  // Re-renders of the same query also come from indexing progress and saves finishing: they must not
  // take the keyboard focus or close an explanation the user opened, so both carry over to the same
  // documents' rows.
  const rowOf = (node) => node?.closest?.("#results .result");
  const sameQuery = els.results.dataset.query === query;
  const focusedId = sameQuery ? rowOf(document.activeElement)?.dataset.id : undefined;
  const openIds = new Set(
    sameQuery ? [...els.results.querySelectorAll(".why[open]")].map((d) => rowOf(d)?.dataset.id) : [],
  );
  els.results.replaceChildren(...results.map((r, i) => renderResult(r, query, i + 1)));
  els.results.dataset.query = query;
  for (const row of els.results.querySelectorAll(".result")) {
    if (openIds.has(row.dataset.id)) {
      row.querySelector(".why").open = true;
    }
    if (row.dataset.id === focusedId) {
      row.querySelector(".why summary").focus();
    }
  }
  els.searchStatus.textContent =
    `Top ${plural(results.length, "document")} of ${indexed.toLocaleString("en-US")} · ${ms < 1 ? ms.toFixed(2) : ms.toFixed(0)} ms` +
    (busy ? " · indexing continues" : "");
}

function renderSummary() {
  if (!search) {
    return;
  }
  const n = search.size;
  els.summary.dataset.documents = String(n);
  els.summary.dataset.passages = String(search.passageCount);
  let text = n === 0 ? "Nothing indexed yet." : `${plural(n, "document")} · ${plural(search.passageCount, "passage")}`;
  if (n > 0) {
    text += storeError ? " · not saved in this browser" : " · saved in this browser";
  }
  els.summary.textContent = text;
  els.exportBtn.disabled = n === 0;
}

function renderAll() {
  renderSummary();
  renderIndexing();
  renderSearch();
}

// ---------- adding documents ----------

async function addFiles(files) {
  if (!search) {
    return;
  }
  const list = [...files];
  if (list.length === 0) {
    return;
  }
  els.searchStatus.textContent = `Reading ${plural(list.length, "file")}…`;
  const { documents, skipped } = await documentsFromFiles(list);
  if (skipped.length > 0) {
    const names = skipped.slice(0, 3).map((s) => `${s.name} (${s.reason})`).join("; ");
    showNotice(`Skipped ${plural(skipped.length, "file")}: ${names}${skipped.length > 3 ? "; …" : ""}`, "info");
  }
  if (documents.length > 0) {
    await addDocuments(documents);
  } else if (skipped.length === 0) {
    showNotice("Those files hold no text to index.", "info");
  }
}

async function loadSample() {
  if (!search) {
    return;
  }
  try {
    const res = await fetch(SAMPLE_URL);
    if (!res.ok) {
      throw new Error(`HTTP ${res.status}`);
    }
    const docs = documentsFromText(SAMPLE_NAME, await res.text()).map((d) => ({ ...d, source: "sample: State of the Union" }));
    await addDocuments(docs);
  } catch (err) {
    showNotice(`The sample corpus could not be loaded: ${errorText(err)}`);
  }
}

async function addPasted() {
  const text = els.pasteText.value.trim();
  if (text === "") {
    els.pasteText.focus();
    return;
  }
  const title = els.pasteTitle.value.trim() || text.split("\n")[0].slice(0, 80);
  const id = `pasted/${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  els.pasteText.value = "";
  els.pasteTitle.value = "";
  els.paste.open = false;
  await addDocuments([{ id, title, text, source: "pasted text" }]);
}

// ---------- export, import, clear ----------

async function exportIndex() {
  const bytes = await search.save();
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = el("a");
  a.href = url;
  a.download = `sparse-search-${new Date().toISOString().slice(0, 10)}.splade`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  showNotice(`Exported ${plural(search.size, "document")} (${megabytes(bytes.length)}).`, "info");
}

async function importIndex(file) {
  if (!file) {
    return;
  }
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let docs = null;
    await Search.documentsInFile(bytes); // checks the file before anything is stopped or cleared
    await stopIndexing();
    try {
      const { documents, passages } = await search.load(bytes);
      showNotice(`Imported ${plural(documents, "document")} (${plural(passages, "passage")}).`, "info");
    } catch (err) {
      if (!(err instanceof SearchFileError && err.otherModel)) {
        throw err;
      }
      docs = await Search.documentsInFile(bytes);
    }
    await store?.clear();
    doneIds = [];
    if (docs) {
      search.clear();
      await checkpoint(true);
      renderAll();
      await addDocuments(docs, {
        notice: `This index was built with another model: indexing its ${plural(docs.length, "document")} again.`,
      });
      return;
    }
    await checkpoint(true);
  } catch (err) {
    showNotice(`Import failed: ${errorText(err)}`);
  }
  renderAll();
}

let clearArmed = null;
async function clearAll() {
  if (!clearArmed) {
    els.clear.textContent = "Click again to delete everything";
    clearArmed = setTimeout(() => {
      clearArmed = null;
      els.clear.textContent = "Clear everything";
    }, 4000);
    return;
  }
  clearTimeout(clearArmed);
  clearArmed = null;
  els.clear.textContent = "Clear everything";
  await stopIndexing();
  search.clear();
  doneIds = [];
  try {
    await store?.clear();
    await store?.setSetting("paused", false);
  } catch (err) {
    showNotice(`Could not clear the browser storage: ${errorText(err)}`);
  }
  els.query.value = "";
  showNotice("Cleared: the index and documents were removed from this browser.", "info");
  renderAll();
}

// ---------- events ----------

function wireEvents() {
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "sample") {
        loadSample();
      } else if (action === "files") {
        els.fileInput.click();
      } else if (action === "folder") {
        els.folderInput.click();
      }
    });
  }
  els.fileInput.addEventListener("change", () => {
    addFiles(els.fileInput.files);
    els.fileInput.value = "";
  });
  els.folderInput.addEventListener("change", () => {
    addFiles(els.folderInput.files);
    els.folderInput.value = "";
  });
  const dropzoneEnabled = () => els.dropzone.getAttribute("aria-disabled") !== "true";
  els.dropzone.addEventListener("click", () => dropzoneEnabled() && els.fileInput.click());
  els.dropzone.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && dropzoneEnabled()) {
      e.preventDefault();
      els.fileInput.click();
    }
  });
  let dragDepth = 0;
  document.addEventListener("dragenter", (e) => {
    if ([...(e.dataTransfer?.types ?? [])].includes("Files")) {
      dragDepth += 1;
      document.body.classList.add("dragging");
    }
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) {
      document.body.classList.remove("dragging");
    }
  });
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
  });
  document.addEventListener("drop", async (e) => {
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    if (e.dataTransfer) {
      addFiles(await filesFromDataTransfer(e.dataTransfer));
    }
  });
  els.pasteAdd.addEventListener("click", addPasted);
  els.pasteText.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      addPasted();
    }
  });
  els.pause.addEventListener("click", pauseIndexing);
  els.resume.addEventListener("click", resumeIndexing);
  els.cancel.addEventListener("click", cancelIndexing);
  els.noticeClose.addEventListener("click", hideNotice);
  els.exportBtn.addEventListener("click", () => exportIndex().catch((err) => showNotice(`Export failed: ${errorText(err)}`)));
  els.importBtn.addEventListener("click", () => els.importInput.click());
  els.importInput.addEventListener("change", () => {
    importIndex(els.importInput.files[0]);
    els.importInput.value = "";
  });
  els.clear.addEventListener("click", clearAll);
  // The model picker: one of the packs build.sh writes (or, with ?model=, whatever was asked for).
  const current = [...els.modelSelect.options].find((o) => new URL(o.value, location.href).href === MODEL_URL);
  if (current) {
    els.modelSelect.value = current.value;
  } else {
    els.modelSelect.append(new Option(new URL(MODEL_URL).pathname.split("/").filter(Boolean).pop(), MODEL_URL, true, true));
  }
  els.modelSelect.addEventListener("change", async () => {
    const value = els.modelSelect.value;
    let remembered = false;
    try {
      localStorage.setItem(MODEL_KEY, value);
      remembered = true;
    } catch {
      // without localStorage the choice travels in the address
    }
    els.modelSelect.disabled = true;
    if (run) {
      // Stop after the batches in flight; the queue stays saved and carries on with the new model.
      pauseIndexing();
      while (run) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await store?.setSetting("paused", false).catch(() => {});
    }
    await checkpoint(true).catch(() => {});
    const next = new URL(location.href);
    next.searchParams.delete("model");
    if (!remembered) {
      next.searchParams.set("model", value);
    }
    location.assign(next.href);
  });
  els.modelRetry.addEventListener("click", () => location.reload());
  els.placeholderRetry.addEventListener("click", () => location.reload());
  els.query.addEventListener("input", renderSearch);
  els.query.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      els.query.value = "";
      renderSearch();
    } else if (e.key === "ArrowDown") {
      const first = els.results.querySelector(".why summary");
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  });
  // Arrow keys move between results ("Why this result" toggles); ArrowUp from the first goes back to the query.
  els.results.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") {
      return;
    }
    const summaries = [...els.results.querySelectorAll(".why summary")];
    const at = summaries.indexOf(document.activeElement);
    if (at === -1) {
      return;
    }
    e.preventDefault();
    const next = at + (e.key === "ArrowDown" ? 1 : -1);
    if (next < 0) {
      els.query.focus();
    } else if (next < summaries.length) {
      summaries[next].focus();
      summaries[next].scrollIntoView({ block: "nearest" });
    }
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t?.isContentEditable;
    if (e.key === "/" && !typing && !els.query.disabled) {
      e.preventDefault();
      els.query.focus();
      els.query.select();
    }
  });
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) {
    return;
  }
  try {
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    window.spladeDemo.offlineReady = true;
    els.offline.textContent = "Works offline: the page, the model and your index are kept in this browser.";
  } catch {
    // Offline use is a bonus; the page works without it.
  }
}

// ---------- start ----------

wireEvents();
setControlsEnabled(false);
const offline = registerServiceWorker();
try {
  await Promise.all([loadModel(), openStore()]);
  if (storeError) {
    showNotice(`${errorText(storeError)} The index will last only for this visit.`);
  }
  await restore();
  setControlsEnabled(true);
  els.query.disabled = false;
  els.query.placeholder = "Search your documents…";
  if (stats.restoredDocuments > 0) {
    els.searchStatus.textContent = `Restored ${plural(stats.restoredDocuments, "document")} from this browser.`;
  }
  renderAll();
  if (stats.restoredDocuments > 0) {
    els.searchStatus.textContent = `Restored ${plural(stats.restoredDocuments, "document")} from this browser. Type to search.`;
  }
  if (!window.matchMedia("(pointer: coarse)").matches) {
    els.query.focus();
  }
  window.spladeDemo.ready = true;
  if (pending.length > 0 && !paused) {
    await startIndexing();
  }
} catch (err) {
  setModelState("error", `The model could not be loaded: ${errorText(err)}`);
  els.query.placeholder = "Search is unavailable: the model did not load";
  els.empty.hidden = true;
  setPlaceholder(
    "Search could not start",
    navigator.onLine === false
      ? "The model has not been saved in this browser yet, and you are offline. Connect once, then it works offline."
      : "The model could not be loaded (details above). Check your connection and try again.",
    { retry: true },
  );
  window.spladeDemo.error = errorText(err);
}
await offline;
